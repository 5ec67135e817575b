"""PKCE (RFC 7636) with S256 only, as FAPI 2.0 Security Profile 5.3.2.2 requires."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from puhui.oauth.keys import b64url

__all__ = [
    "CODE_CHALLENGE_METHOD",
    "PKCEError",
    "code_challenge_for",
    "validate_code_challenge",
    "verify_code_verifier",
]

CODE_CHALLENGE_METHOD: Final = "S256"
# RFC 7636 4.1: code-verifier = 43*128unreserved; 4.2: an S256 challenge is 43 base64url chars.
_VERIFIER: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE: Final = re.compile(r"[A-Za-z0-9\-_]{43}")


class PKCEError(ValueError):
    """A PKCE rule is broken; `error` is the OAuth error code to answer with."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def code_challenge_for(verifier: str) -> str:
    """The S256 challenge of `verifier`: base64url(SHA-256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return b64url(digest)


def validate_code_challenge(challenge: str | None, method: str | None) -> str:
    """Check an authorization (or pushed) request's challenge; returns it. `invalid_request`."""
    if not challenge:
        raise PKCEError("invalid_request", "code_challenge is required")
    if method != CODE_CHALLENGE_METHOD:
        if method == "plain":
            raise PKCEError(
                "invalid_request", "code_challenge_method 'plain' is not allowed; use S256"
            )
        raise PKCEError("invalid_request", "code_challenge_method must be S256")
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise PKCEError("invalid_request", "code_challenge is not a base64url SHA-256 value")
    return challenge


def verify_code_verifier(verifier: str | None, challenge: str) -> None:
    """At the token endpoint: the verifier must hash to the stored challenge. `invalid_grant`."""
    if not verifier or not _VERIFIER.fullmatch(verifier):
        raise PKCEError("invalid_grant", "code_verifier must be 43-128 unreserved characters")
    if not hmac.compare_digest(code_challenge_for(verifier), challenge):
        raise PKCEError("invalid_grant", "code_verifier does not match the code_challenge")
