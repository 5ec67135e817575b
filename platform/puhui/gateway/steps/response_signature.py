"""Step 12, response signature: A2 responses to clients are signed (RFC 9421) with the bank's
response-signing key, covering status, content digest, content type and the request's signature,
so the partner holds non-repudiable evidence of what the bank answered (JR/T 0185-2020)."""

from __future__ import annotations

from typing import Final

from puhui.oauth.keys import KeyRing
from puhui.security.digest import content_digest
from puhui.security.httpsig import (
    HttpRequest,
    HttpResponse,
    SignatureKey,
    VerifiedSignature,
)
from puhui.security.httpsig import (
    sign_response as sign_message,
)

__all__ = ["sign_response"]

_ALG: Final = {"ES256": "ecdsa-p256-sha256", "EdDSA": "ed25519", "PS512": "rsa-pss-sha512"}
_key_cache: dict[str, SignatureKey] = {}


def _signature_key(keys: KeyRing) -> SignatureKey:
    active = keys.current().active
    key = _key_cache.get(active.kid)
    if key is None:
        key = SignatureKey(_ALG[active.alg], active.private_key, keyid=active.kid)
        _key_cache.clear()
        _key_cache[active.kid] = key
    return key


def sign_response(
    keys: KeyRing,
    status: int,
    content_type: str | None,
    body: bytes,
    request: HttpRequest,
    verified: VerifiedSignature,
) -> dict[str, str]:
    """Headers to add: Content-Digest, Signature-Input and Signature (label `bank`).

    The signature covers the status, the body's digest and (when there is one) its content
    type, plus the request's own signature: only those header values are needed."""
    out = {"content-digest": content_digest(body)}
    components = ["@status", "content-digest"]
    signed_headers = dict(out)
    if content_type is not None:
        components.append("content-type")
        signed_headers["content-type"] = content_type
    signed = sign_message(
        HttpResponse(status, signed_headers),
        _signature_key(keys),
        request=request,
        request_label=verified.label,
        components=components,
        label="bank",
    )
    out["signature-input"] = signed.signature_input
    out["signature"] = signed.signature
    return out
