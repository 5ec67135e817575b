"""The bank's signing keysets: thumbprint kids, persistence, rotation, JWKS publication."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from puhui.clock import FrozenClock
from puhui.oauth.keys import (
    InvalidJWK,
    KeyFileError,
    KeyRing,
    Keyset,
    KeyState,
    jwk_thumbprint,
    load_or_create,
    public_key_from_jwk,
    rotate,
)

# RFC 7638 section 3.1 example key and its thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
        "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qv"
        "zqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6W"
        "eZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_thumbprint_matches_rfc7638_example() -> None:
    assert jwk_thumbprint(RFC7638_JWK) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_ignores_optional_members_and_refuses_incomplete_keys() -> None:
    bare = {k: RFC7638_JWK[k] for k in ("kty", "n", "e")}
    assert jwk_thumbprint(bare) == jwk_thumbprint({**bare, "use": "sig", "kid": "x"})
    with pytest.raises(InvalidJWK):
        jwk_thumbprint({"kty": "RSA", "n": RFC7638_JWK["n"]})
    with pytest.raises(InvalidJWK):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})


def test_first_load_creates_active_and_next_es256_keys_with_thumbprint_kids(
    keyset: Keyset,
) -> None:
    assert keyset.active.alg == "ES256"
    assert keyset.next_key is not None
    assert keyset.active.kid != keyset.next_key.kid
    for key in keyset.keys:
        assert key.kid == jwk_thumbprint(key.public_jwk())


def test_key_file_is_private_and_reloads_to_the_same_keys(key_dir: Path, keyset: Keyset) -> None:
    path = key_dir / "access-token.keyset.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "BEGIN PRIVATE KEY" in path.read_text()
    again = load_or_create(key_dir)
    assert [k.kid for k in again.keys] == [k.kid for k in keyset.keys]
    assert not [p for p in key_dir.iterdir() if p.name.endswith(".tmp")]


def test_key_file_readable_by_others_is_refused(key_dir: Path, keyset: Keyset) -> None:
    os.chmod(key_dir / "access-token.keyset.json", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create(key_dir)


def test_tampered_kid_is_refused(key_dir: Path, keyset: Keyset) -> None:
    path = key_dir / "access-token.keyset.json"
    document = json.loads(path.read_text())
    document["keys"][0]["kid"] = "forged"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="thumbprint"):
        load_or_create(key_dir)


def test_passphrase_protects_the_private_keys(key_dir: Path, frozen_clock: FrozenClock) -> None:
    created = load_or_create(key_dir, purpose="response", passphrase=b"correct horse")
    assert "ENCRYPTED PRIVATE KEY" in (key_dir / "response.keyset.json").read_text()
    loaded = load_or_create(key_dir, purpose="response", passphrase=b"correct horse")
    assert loaded.active.kid == created.active.kid
    with pytest.raises((KeyFileError, TypeError, ValueError)):
        load_or_create(key_dir, purpose="response", passphrase=b"wrong")


def test_purposes_are_separate_keysets(key_dir: Path, keyset: Keyset) -> None:
    response = load_or_create(key_dir, purpose="response-signing", alg="EdDSA")
    assert response.active.alg == "EdDSA"
    assert {k.kid for k in response.keys}.isdisjoint(k.kid for k in keyset.keys)


def test_rotation_promotes_next_and_retires_active_until_tokens_expire(
    key_dir: Path, keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    now = frozen_clock.now()
    rotated = rotate(key_dir, now, retain_for=timedelta(seconds=600))
    assert keyset.next_key is not None
    assert rotated.active.kid == keyset.next_key.kid
    retired = rotated.verification_key(keyset.active.kid, now)
    assert retired is not None
    assert retired.state is KeyState.RETIRED
    assert retired.retired_until == now + timedelta(seconds=600)
    assert rotated.next_key is not None
    assert rotated.next_key.kid not in {k.kid for k in keyset.keys}
    published = {jwk["kid"] for jwk in rotated.public_jwks(now)["keys"]}
    assert published == {keyset.active.kid, rotated.active.kid, rotated.next_key.kid}
    later = now + timedelta(seconds=600)
    assert rotated.verification_key(keyset.active.kid, later) is None
    assert keyset.active.kid not in {jwk["kid"] for jwk in rotated.public_jwks(later)["keys"]}
    # The next rotation drops the expired retiree from the file altogether.
    again = rotate(key_dir, later, retain_for=timedelta(seconds=600))
    assert keyset.active.kid not in {k.kid for k in again.keys}
    assert load_or_create(key_dir).active.kid == again.active.kid


def test_public_jwks_never_contains_private_members(keyset: Keyset) -> None:
    for jwk in keyset.public_jwks()["keys"]:
        assert {"d", "p", "q", "dp", "dq", "qi", "k"}.isdisjoint(jwk)
        assert jwk["use"] == "sig"
        assert jwk["alg"] == "ES256"


def test_public_key_from_jwk_refuses_private_and_mismatched_keys() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    private_jwk = ECAlgorithm.to_jwk(private, as_dict=True)
    with pytest.raises(InvalidJWK, match="private"):
        public_key_from_jwk(private_jwk, "ES256")
    public = {k: v for k, v in private_jwk.items() if k != "d"}
    assert isinstance(public_key_from_jwk(public, "ES256"), ec.EllipticCurvePublicKey)
    with pytest.raises(InvalidJWK):
        public_key_from_jwk(public, "EdDSA")
    with pytest.raises(InvalidJWK):
        public_key_from_jwk({**public, "x": "AAAA"}, "ES256")


def test_key_ring_picks_up_a_rotation_by_another_worker(
    key_dir: Path, keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    ring = KeyRing(key_dir, refresh_interval=timedelta(seconds=1))
    assert ring.current().active.kid == keyset.active.kid
    rotated = rotate(key_dir, frozen_clock.now())
    frozen_clock.advance(timedelta(seconds=2))
    assert ring.current().active.kid == rotated.active.kid


def test_rotating_a_missing_keyset_says_how_to_create_it(
    key_dir: Path, frozen_clock: FrozenClock
) -> None:
    with pytest.raises(KeyFileError, match="load_or_create"):
        rotate(key_dir, frozen_clock.now(), purpose="never-created")


def test_rotation_can_change_algorithm(
    key_dir: Path, keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    rotated = rotate(key_dir, frozen_clock.now(), alg="EdDSA")
    assert rotated.active.alg == "EdDSA"
    assert rotated.next_key is not None
    assert rotated.next_key.alg == "EdDSA"
    assert keyset.next_key is not None
    assert keyset.next_key.kid not in {k.kid for k in rotated.keys}  # never signed: dropped
    old = rotated.verification_key(keyset.active.kid, frozen_clock.now())
    assert old is not None
    assert old.alg == "ES256"


def test_short_rsa_keys_are_refused() -> None:
    short = RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(),  # noqa: S505
        as_dict=True,
    )
    with pytest.raises(InvalidJWK, match="too short"):
        public_key_from_jwk(short, "PS256")
