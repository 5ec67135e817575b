"""Step 7, request signature and anti-replay (RFC 9421 with RFC 9530 Content-Digest).

Covered components: @method, @target-uri, content-digest (when there is a body), with the
`created` and `nonce` parameters. A2 APIs need an asymmetric key from the client's JWKS (ES256,
Ed25519); A1 APIs also accept HMAC-SHA256 with the client's signing secret (keyid = client id).
A nonce is spent per client after the signature verifies, so forged requests cannot burn nonces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from puhui.errors import ProblemError
from puhui.gateway.catalogue import ApiSpec
from puhui.gateway.client_profiles import ClientProfile
from puhui.gateway.steps.problems import REPLAY_DETECTED, SIGNATURE_EXPIRED, SIGNATURE_INVALID
from puhui.security.digest import DigestMismatch, DigestMissing, verify_content_digest
from puhui.security.httpsig import (
    HttpRequest,
    SignatureError,
    SignatureExpired,
    VerifiedSignature,
    verify_request,
)
from puhui.security.nonces import NonceCapacityExceeded, NonceStore, nonce_key

if TYPE_CHECKING:
    from litestar.types import Scope

__all__ = ["A1_ALGORITHMS", "A2_ALGORITHMS", "request_for_signature", "verify_signature"]

A2_ALGORITHMS: Final = frozenset({"ecdsa-p256-sha256", "ed25519"})
A1_ALGORITHMS: Final = A2_ALGORITHMS | {"hmac-sha256"}
_WITH_BODY: Final = ("@method", "@target-uri", "content-digest")
_WITHOUT_BODY: Final = ("@method", "@target-uri")


def request_for_signature(scope: Scope, headers: dict[str, str]) -> HttpRequest:
    """The request as the client signed it: method, absolute target URI, header values."""
    scheme = scope.get("scheme", "http")
    host = headers.get("host") or "localhost"
    path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    return HttpRequest(method=str(scope.get("method", "GET")), url=url, headers=headers)


async def verify_signature(
    spec: ApiSpec,
    profile: ClientProfile,
    request: HttpRequest,
    body: bytes,
    nonces: NonceStore,
    skew_seconds: int,
) -> VerifiedSignature:
    """Verify the signature (and the body digest), then accept its nonce exactly once."""
    if body:
        try:
            verify_content_digest(request.headers.get("content-digest"), body)
        except (DigestMissing, DigestMismatch):
            raise ProblemError(
                "Content-Digest is missing or does not match the body.", problem=SIGNATURE_INVALID
            ) from None
    try:
        verified = verify_request(
            request,
            resolve_key=profile.signature_key,
            required_components=_WITH_BODY if body else _WITHOUT_BODY,
            allowed_algorithms=A2_ALGORITHMS if spec.level == "A2" else A1_ALGORITHMS,
            skew_seconds=skew_seconds,
            require_nonce=True,
        )
    except SignatureExpired:
        raise ProblemError(problem=SIGNATURE_EXPIRED) from None
    except SignatureError as exc:
        # The exception's own text is kept for the audit record, never returned to the caller.
        raise ProblemError(problem=SIGNATURE_INVALID) from exc
    try:
        fresh = await nonces.remember(
            nonce_key(profile.client_id, verified.nonce or ""), ttl_seconds=2 * skew_seconds
        )
    except NonceCapacityExceeded:
        fresh = False  # fail closed: a forgotten nonce would re-open a replay window
    if not fresh:
        raise ProblemError(problem=REPLAY_DETECTED)
    return verified
