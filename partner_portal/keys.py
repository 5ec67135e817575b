"""Reading a partner's uploaded public key: a PEM public key or a JWK / JWKS in JSON."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from puhui.errors import FieldError, InvalidRequest

__all__ = ["jwks_from_upload"]


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(errors=[FieldError("public_key", message)])


def jwks_from_upload(text: str) -> dict[str, Any]:
    """A JWKS from what was pasted; private material is refused by the OAuth registry itself."""
    text = text.strip()
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        try:
            key = load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise _bad("not a readable PEM public key") from exc
        jwk: dict[str, Any]
        if isinstance(key, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(key, as_dict=True)
            jwk["alg"] = "ES256"
        elif isinstance(key, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
            jwk["alg"] = "PS256"
        elif isinstance(key, ed25519.Ed25519PublicKey):
            jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
            jwk["alg"] = "EdDSA"
        else:
            raise _bad("use an EC P-256, RSA or Ed25519 public key")
        jwk["use"] = "sig"
        return {"keys": [jwk]}
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise _bad("paste a PEM public key, a JWK or a JWKS") from exc
    if isinstance(parsed, dict) and isinstance(parsed.get("keys"), list):
        return parsed
    if isinstance(parsed, dict) and "kty" in parsed:
        return {"keys": [parsed]}
    raise _bad("paste a PEM public key, a JWK or a JWKS")
