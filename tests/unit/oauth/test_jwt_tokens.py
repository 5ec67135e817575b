"""RFC 9068 access tokens: issuing, verification against forgeries, the verified-token cache."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from puhui.clock import FrozenClock
from puhui.oauth import jwt_tokens
from puhui.oauth.jwt_tokens import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    InvalidAccessToken,
    VerifiedTokenCache,
    hash_token,
    new_authorization_code,
    new_refresh_token,
    sign_with_keyset,
)
from puhui.oauth.keys import Keyset, rotate

ISSUER = "https://open.puhui-bank.example"
RESOURCE = "https://api.puhui-bank.example"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _handmade(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _issue(keyset: Keyset, **overrides: Any) -> str:
    issued = AccessTokenIssuer(keyset, issuer=ISSUER).issue(
        subject="customer-42",
        client_id="client-a",
        audience=RESOURCE,
        scope=["loans:read", "offers:read"],
        tenant_id="tenant-7",
        consent_id="consent-99",
        **overrides,
    )
    return issued.token


def _verifier(keyset: Keyset, **kwargs: Any) -> AccessTokenVerifier:
    return AccessTokenVerifier(keyset, issuer=ISSUER, audience=RESOURCE, **kwargs)


def test_issued_token_verifies_with_all_rfc9068_claims(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    token = _issue(keyset, jkt="jkt-of-client-key")
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] == keyset.active.kid
    claims = _verifier(keyset).verify(token)
    assert claims.subject == "customer-42"
    assert claims.client_id == "client-a"
    assert claims.scope == {"loans:read", "offers:read"}
    assert claims.tenant_id == "tenant-7"
    assert claims.consent_id == "consent-99"
    assert claims.jkt == "jkt-of-client-key"
    assert claims.expires_at - claims.issued_at == timedelta(seconds=300)
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["cnf"] == {"jkt": "jkt-of-client-key"}
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} <= raw.keys()


def test_lifetime_above_600_seconds_is_refused(keyset: Keyset) -> None:
    with pytest.raises(ValueError, match="600"):
        AccessTokenIssuer(keyset, issuer=ISSUER, lifetime=timedelta(seconds=601))


def test_alg_none_is_rejected(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    good = jwt.decode(_issue(keyset), options={"verify_signature": False})
    header = {"alg": "none", "typ": "at+jwt", "kid": keyset.active.kid}
    forged = _handmade(header, good, lambda _: b"")
    with pytest.raises(InvalidAccessToken, match="not allowed"):
        _verifier(keyset).verify(forged)


def test_hs256_signed_with_the_public_key_is_rejected(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    good = jwt.decode(_issue(keyset), options={"verify_signature": False})
    pem = keyset.active.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": keyset.active.kid}
    forged = _handmade(header, good, lambda msg: hmac.digest(pem, msg, "sha256"))
    with pytest.raises(InvalidAccessToken, match="not allowed"):
        _verifier(keyset, algorithms=("ES256", "EdDSA")).verify(forged)


def test_unknown_kid_and_foreign_key_are_rejected(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    claims = jwt.decode(_issue(keyset), options={"verify_signature": False})
    attacker = ec.generate_private_key(ec.SECP256R1())
    unknown = jwt.encode(claims, attacker, "ES256", headers={"kid": "attacker", "typ": "at+jwt"})
    with pytest.raises(InvalidAccessToken, match="unknown"):
        _verifier(keyset).verify(unknown)
    borrowed_kid = jwt.encode(
        claims, attacker, "ES256", headers={"kid": keyset.active.kid, "typ": "at+jwt"}
    )
    with pytest.raises(InvalidAccessToken, match="signature"):
        _verifier(keyset).verify(borrowed_kid)


def test_wrong_issuer_and_audience_are_rejected(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    token = _issue(keyset)
    with pytest.raises(InvalidAccessToken, match="issuer"):
        AccessTokenVerifier(keyset, issuer="https://evil.example", audience=RESOURCE).verify(token)
    with pytest.raises(InvalidAccessToken, match="audience"):
        AccessTokenVerifier(keyset, issuer=ISSUER, audience="https://other.example").verify(token)


def test_wrong_typ_is_rejected(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    claims = jwt.decode(_issue(keyset), options={"verify_signature": False})
    for typ in ("JWT", "dpop+jwt"):
        token = sign_with_keyset(keyset, claims, typ=typ)
        with pytest.raises(InvalidAccessToken, match="typ"):
            _verifier(keyset).verify(token)
    media_type = sign_with_keyset(keyset, claims, typ="application/at+jwt")
    assert _verifier(keyset).verify(media_type).subject == "customer-42"


def test_expired_token_is_rejected(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    token = _issue(keyset)
    frozen_clock.advance(timedelta(seconds=299))
    assert _verifier(keyset).verify(token).client_id == "client-a"
    frozen_clock.advance(timedelta(seconds=1))
    with pytest.raises(InvalidAccessToken, match="expired"):
        _verifier(keyset).verify(token)


def test_overlong_token_signed_by_the_bank_is_still_refused(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    claims = jwt.decode(_issue(keyset), options={"verify_signature": False})
    claims["exp"] = claims["iat"] + 3600
    with pytest.raises(InvalidAccessToken, match="lifetime"):
        _verifier(keyset).verify(sign_with_keyset(keyset, claims, typ="at+jwt"))


def test_missing_required_claim_is_rejected(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    claims = jwt.decode(_issue(keyset), options={"verify_signature": False})
    del claims["client_id"]
    with pytest.raises(InvalidAccessToken, match="client_id"):
        _verifier(keyset).verify(sign_with_keyset(keyset, claims, typ="at+jwt"))


def test_cache_hit_skips_signature_verification(
    keyset: Keyset, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = _verifier(keyset, cache=VerifiedTokenCache())
    token = _issue(keyset)
    first = verifier.verify(token)

    def no_more_crypto(*_: Any, **__: Any) -> Any:
        raise AssertionError("signature checked again")

    monkeypatch.setattr(jwt_tokens, "decode_signed_by_keyset", no_more_crypto)
    assert verifier.verify(token) == first
    with pytest.raises(AssertionError, match="checked again"):
        verifier.verify(_issue(keyset))  # a different token is not a hit


def test_cached_token_expiry_is_still_enforced(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    cache = VerifiedTokenCache()
    verifier = _verifier(keyset, cache=cache)
    token = _issue(keyset)
    verifier.verify(token)
    assert len(cache) == 1
    frozen_clock.advance(timedelta(seconds=300))
    with pytest.raises(InvalidAccessToken, match="expired"):
        verifier.verify(token)


def test_cache_is_bounded_and_forgets_least_recently_used(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    cache = VerifiedTokenCache(max_entries=2)
    verifier = _verifier(keyset, cache=cache)
    first, second, third = (_issue(keyset) for _ in range(3))
    for token in (first, second, first, third):
        verifier.verify(token)
    assert len(cache) == 2
    assert cache.get(hashlib.sha256(second.encode()).digest()) is None
    assert cache.get(hashlib.sha256(first.encode()).digest()) is not None
    cache.discard(first)
    assert cache.get(hashlib.sha256(first.encode()).digest()) is None


def test_rotation_keeps_old_tokens_valid_until_exp_then_rejects_the_key(
    key_dir: Path, keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    old_token = _issue(keyset)
    raw = jwt.decode(old_token, options={"verify_signature": False})
    raw["exp"] = raw["iat"] + 600
    longest = sign_with_keyset(keyset, raw, typ="at+jwt")  # same key, maximal lifetime
    cache = VerifiedTokenCache()
    frozen_clock.advance(timedelta(seconds=10))
    rotated = rotate(key_dir, frozen_clock.now(), retain_for=timedelta(seconds=600))
    verifier = _verifier(rotated, cache=cache)
    new_token = _issue(rotated)
    assert jwt.get_unverified_header(new_token)["kid"] != keyset.active.kid
    assert verifier.verify(old_token).subject == "customer-42"
    assert verifier.verify(longest).subject == "customer-42"
    assert verifier.verify(new_token).subject == "customer-42"
    frozen_clock.advance(timedelta(seconds=290))  # t0 + 300: the old token's exp
    with pytest.raises(InvalidAccessToken, match="expired"):
        verifier.verify(old_token)
    assert verifier.verify(longest).subject == "customer-42"
    frozen_clock.advance(timedelta(seconds=300))  # t0 + 600: the longest token's exp
    with pytest.raises(InvalidAccessToken, match="expired"):
        verifier.verify(longest)
    frozen_clock.advance(timedelta(seconds=10))  # t0 + 610: retired_until passed
    now = int(frozen_clock.now().timestamp())
    late = sign_with_keyset(keyset, {**raw, "iat": now, "exp": now + 60}, typ="at+jwt")
    with pytest.raises(InvalidAccessToken, match="retired"):
        verifier.verify(late)
    assert keyset.active.kid not in {k["kid"] for k in rotated.public_jwks()["keys"]}


def test_retired_key_is_rejected_even_for_a_cached_token(
    key_dir: Path, keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    token = _issue(keyset)
    cache = VerifiedTokenCache()
    _verifier(keyset, cache=cache).verify(token)
    # Emergency rotation with a short retention: the old key stops verifying before token exp.
    rotated = rotate(key_dir, frozen_clock.now(), retain_for=timedelta(seconds=5))
    verifier = _verifier(rotated, cache=cache)
    assert verifier.verify(token).subject == "customer-42"
    frozen_clock.advance(timedelta(seconds=5))
    with pytest.raises(InvalidAccessToken, match="retired"):
        verifier.verify(token)


def test_opaque_tokens_have_prefixes_and_are_stored_as_hashes() -> None:
    refresh, code = new_refresh_token(), new_authorization_code()
    assert refresh.startswith("phr_")
    assert code.startswith("phc_")
    assert len(refresh) >= 4 + 43
    assert new_refresh_token() != refresh
    assert hash_token(refresh) == hashlib.sha256(refresh.encode()).hexdigest()
    assert refresh not in hash_token(refresh)


def test_cache_shared_between_audiences_still_checks_audience(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    cache = VerifiedTokenCache()
    token = _issue(keyset)
    _verifier(keyset, cache=cache).verify(token)
    other = AccessTokenVerifier(
        keyset, issuer=ISSUER, audience="https://other.example", cache=cache
    )
    with pytest.raises(InvalidAccessToken, match="audience"):
        other.verify(token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", "!.", 1),  # junk in the header segment
        lambda t: t + ".extra",  # four parts
        lambda t: t.rsplit(".", 1)[0],  # two parts
        lambda t: t + "A" * 20_000,  # oversized
        lambda t: t[:-1] + chr(ord(t[-1]) ^ 1),  # non-canonical or different signature bits
    ],
)
def test_malformed_or_non_canonical_tokens_are_rejected(
    keyset: Keyset, frozen_clock: FrozenClock, mangle: Any
) -> None:
    with pytest.raises(InvalidAccessToken, match=r"malformed|signature"):
        _verifier(keyset).verify(mangle(_issue(keyset)))
