"""Problem types of the API-security steps: one per failure, each saying only what a legitimate
partner needs to fix the call (never key material or expected values; JR/T 0185-2020)."""

from __future__ import annotations

from puhui.errors import RATE, register_problem

__all__ = [
    "AUDIT_UNAVAILABLE",
    "IP_NOT_ALLOWED",
    "QUOTA_EXHAUSTED",
    "RATE_LIMITED",
    "REPLAY_DETECTED",
    "SIGNATURE_EXPIRED",
    "SIGNATURE_INVALID",
]

SIGNATURE_INVALID = register_problem(
    "signature-invalid",
    "Signature invalid",
    401,
    "The request signature is missing, malformed, made with a key not registered for this "
    "client, or does not verify over @method, @target-uri, content-digest, created and nonce.",
)
SIGNATURE_EXPIRED = register_problem(
    "signature-expired",
    "Signature expired",
    401,
    "The signature's `created` time is outside the accepted clock window; sign again now.",
)
REPLAY_DETECTED = register_problem(
    "replay-detected",
    "Replay detected",
    401,
    "This signature nonce was already used; sign every request with a fresh nonce.",
)
IP_NOT_ALLOWED = register_problem(
    "ip-not-allowed",
    "IP address not allowed",
    403,
    "The calling address is not in the client's registered allow-list.",
)
RATE_LIMITED = RATE  # "rate-limited": the burst limit; see Retry-After
QUOTA_EXHAUSTED = register_problem(
    "quota-exhausted",
    "Quota exhausted",
    429,
    "The plan's daily or monthly call quota is used up; see Retry-After and RateLimit.",
)
AUDIT_UNAVAILABLE = register_problem(
    "audit-unavailable",
    "Service unavailable",
    503,
    "The call could not be recorded in the audit trail, so it was not carried out; retry.",
)
