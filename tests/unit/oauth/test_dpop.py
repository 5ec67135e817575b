"""RFC 9449 DPoP proofs: every verification step, nonces, and token binding."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from puhui.clock import FrozenClock
from puhui.oauth.dpop import (
    DPoPBindingMismatch,
    DPoPNonces,
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProof,
    UseDPoPNonce,
    access_token_hash,
    confirm_binding,
    normalize_htu,
    single_proof,
)
from puhui.oauth.keys import jwk_thumbprint
from puhui.oauth.stores import MemoryReplayCache

TOKEN_URL = "https://open.puhui-bank.example/token"
RESOURCE_URL = "https://api.puhui-bank.example/v1/loans"
SECRET = b"s" * 32


def _verify(verifier: DPoPVerifier, proof: str, **kwargs: Any) -> DPoPProof:
    kwargs.setdefault("method", "POST")
    kwargs.setdefault("uri", TOKEN_URL)
    return asyncio.run(verifier.verify(proof, **kwargs))


@pytest.fixture
def verifier(frozen_clock: FrozenClock) -> DPoPVerifier:
    return DPoPVerifier(MemoryReplayCache())


def test_valid_proof_yields_the_key_thumbprint(
    verifier: DPoPVerifier, make_proof: Any, client_key: ec.EllipticCurvePrivateKey
) -> None:
    proof = _verify(verifier, make_proof())
    assert proof.jkt == jwk_thumbprint(ECAlgorithm.to_jwk(client_key.public_key(), as_dict=True))
    assert proof.htm == "POST"


@pytest.mark.parametrize(
    ("claims", "method", "uri", "message"),
    [
        ({"htm": "GET"}, "POST", TOKEN_URL, "htm"),
        ({}, "post", TOKEN_URL, "htm"),
        ({"htu": "https://open.puhui-bank.example/other"}, "POST", TOKEN_URL, "htu"),
        ({"htu": "https://evil.example/token"}, "POST", TOKEN_URL, "htu"),
        ({"htu": "not a uri"}, "POST", TOKEN_URL, "htu"),
    ],
)
def test_proof_for_another_request_is_rejected(
    verifier: DPoPVerifier,
    make_proof: Any,
    claims: dict[str, Any],
    method: str,
    uri: str,
    message: str,
) -> None:
    with pytest.raises(InvalidDPoPProof, match=message) as caught:
        _verify(verifier, make_proof(**claims), method=method, uri=uri)
    assert caught.value.error == "invalid_dpop_proof"


def test_htu_ignores_query_fragment_and_normalises(verifier: DPoPVerifier, make_proof: Any) -> None:
    proof = make_proof(htu="HTTPS://Open.Puhui-Bank.example:443/%7etoken/./x/../")
    _verify(verifier, proof, uri="https://open.puhui-bank.example/~token/?a=1#frag")
    assert normalize_htu("http://a.example:8080") == "http://a.example:8080/"
    assert normalize_htu("https://a.example/%2fb") == "https://a.example/%2Fb"
    with pytest.raises(ValueError, match="user"):
        normalize_htu("https://user@a.example/")


def test_replayed_jti_is_rejected(verifier: DPoPVerifier, make_proof: Any) -> None:
    proof = make_proof()
    _verify(verifier, proof)
    with pytest.raises(InvalidDPoPProof, match="already used"):
        _verify(verifier, proof)


def test_refused_proof_does_not_use_up_its_jti(verifier: DPoPVerifier, make_proof: Any) -> None:
    proof = make_proof(jti="same-jti")
    with pytest.raises(InvalidDPoPProof, match="htm"):
        _verify(verifier, proof, method="GET")
    _verify(verifier, proof)


def test_stale_and_future_iat_are_rejected(
    verifier: DPoPVerifier, make_proof: Any, frozen_clock: FrozenClock
) -> None:
    now = int(frozen_clock.now().timestamp())
    _verify(verifier, make_proof(iat=now - 60))
    with pytest.raises(InvalidDPoPProof, match="iat"):
        _verify(verifier, make_proof(iat=now - 61))
    with pytest.raises(InvalidDPoPProof, match="iat"):
        _verify(verifier, make_proof(iat=now + 30))
    with pytest.raises(InvalidDPoPProof, match="iat"):
        _verify(verifier, make_proof(drop=("iat",)))


def test_ath_must_hash_the_presented_access_token(verifier: DPoPVerifier, make_proof: Any) -> None:
    token = "eyJ.access.token"
    good = make_proof(htm="GET", htu=RESOURCE_URL, ath=access_token_hash(token))
    _verify(verifier, good, method="GET", uri=RESOURCE_URL, access_token=token)
    wrong = make_proof(htm="GET", htu=RESOURCE_URL, ath=access_token_hash("another"))
    with pytest.raises(InvalidDPoPProof, match="ath"):
        _verify(verifier, wrong, method="GET", uri=RESOURCE_URL, access_token=token)
    missing = make_proof(htm="GET", htu=RESOURCE_URL)
    with pytest.raises(InvalidDPoPProof, match="ath"):
        _verify(verifier, missing, method="GET", uri=RESOURCE_URL, access_token=token)


def test_ath_matches_rfc9449_example() -> None:
    # RFC 9449 section 7.1 example access token and its ath.
    assert access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == (
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    )


def test_private_key_in_jwk_header_is_rejected(
    verifier: DPoPVerifier, make_proof: Any, client_key: ec.EllipticCurvePrivateKey
) -> None:
    private_jwk = ECAlgorithm.to_jwk(client_key, as_dict=True)
    with pytest.raises(InvalidDPoPProof, match="private"):
        _verify(verifier, make_proof(headers={"jwk": private_jwk}))


def test_wrong_typ_alg_and_foreign_signature_are_rejected(
    verifier: DPoPVerifier, make_proof: Any
) -> None:
    with pytest.raises(InvalidDPoPProof, match="typ"):
        _verify(verifier, make_proof(headers={"typ": "JWT"}))
    with pytest.raises(InvalidDPoPProof, match="jwk"):
        _verify(verifier, make_proof(headers={"jwk": None}))
    other = ec.generate_private_key(ec.SECP256R1())
    other_jwk = ECAlgorithm.to_jwk(other.public_key(), as_dict=True)
    with pytest.raises(InvalidDPoPProof, match="signature"):
        _verify(verifier, make_proof(headers={"jwk": other_jwk}))
    hs256 = jwt.encode(
        {"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": 0},
        "shared-secret-of-at-least-32-bytes!!",
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": other_jwk},
    )
    with pytest.raises(InvalidDPoPProof, match="not allowed"):
        _verify(verifier, hs256)
    with pytest.raises(InvalidDPoPProof, match="well-formed"):
        _verify(verifier, "not.a.jwt")


def test_nonce_required_then_accepted(frozen_clock: FrozenClock, make_proof: Any) -> None:
    nonces = DPoPNonces([SECRET])
    verifier = DPoPVerifier(MemoryReplayCache(), nonces=nonces, require_nonce=True)
    with pytest.raises(UseDPoPNonce) as missing:
        _verify(verifier, make_proof())
    assert missing.value.error == "use_dpop_nonce"
    assert nonces.is_valid(missing.value.nonce)
    with pytest.raises(UseDPoPNonce):
        _verify(verifier, make_proof(nonce="made-up"))
    proof = _verify(verifier, make_proof(nonce=missing.value.nonce))
    assert proof.nonce == missing.value.nonce


def test_nonces_rotate_and_expire(frozen_clock: FrozenClock) -> None:
    nonces = DPoPNonces([SECRET], window=timedelta(minutes=5))
    issued = nonces.current()
    frozen_clock.advance(timedelta(minutes=5))
    assert nonces.is_valid(issued)  # previous slot still accepted
    assert nonces.current() != issued
    frozen_clock.advance(timedelta(minutes=5))
    assert not nonces.is_valid(issued)
    assert not DPoPNonces([b"t" * 32]).is_valid(nonces.current())
    assert DPoPNonces([b"t" * 32, SECRET]).is_valid(nonces.current())  # secret rotation
    assert not DPoPNonces([SECRET], realm="resource").is_valid(nonces.current())


def test_binding_to_token_jkt(verifier: DPoPVerifier, make_proof: Any) -> None:
    proof = _verify(verifier, make_proof())
    confirm_binding(proof.jkt, proof)
    with pytest.raises(DPoPBindingMismatch, match="does not match") as caught:
        confirm_binding("another-key-thumbprint", proof)
    assert caught.value.error == "invalid_token"
    with pytest.raises(DPoPBindingMismatch, match="proof is required"):
        confirm_binding(proof.jkt, None)
    with pytest.raises(DPoPBindingMismatch, match="sender-constrained"):
        confirm_binding(None, proof)
    confirm_binding(None, None, require_binding=False)


def test_exactly_one_dpop_header() -> None:
    assert single_proof(["a.b.c"]) == "a.b.c"
    with pytest.raises(InvalidDPoPProof):
        single_proof([])
    with pytest.raises(InvalidDPoPProof):
        single_proof(["a.b.c", "d.e.f"])


def test_eddsa_proofs_are_accepted_and_es256_only_policy_refuses_them(
    frozen_clock: FrozenClock,
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    claims = {
        "jti": "e1",
        "htm": "POST",
        "htu": TOKEN_URL,
        "iat": int(frozen_clock.now().timestamp()),
    }
    jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    proof = jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "dpop+jwt", "jwk": jwk})
    assert _verify(DPoPVerifier(MemoryReplayCache()), proof).jkt == jwk_thumbprint(jwk)
    es256_only = DPoPVerifier(MemoryReplayCache(), algorithms=("ES256",))
    with pytest.raises(InvalidDPoPProof, match="not allowed"):
        _verify(es256_only, proof)


def test_a_remembered_header_still_needs_a_valid_signature(
    verifier: DPoPVerifier, make_proof: Any
) -> None:
    """The header checks are remembered per raw header; the signature and claims never are."""
    first = make_proof()
    _verify(verifier, first)
    forged = make_proof()  # same header bytes, other claims: then a signature from another key
    header, payload, _ = forged.split(".")
    _, _, foreign_signature = make_proof(key=ec.generate_private_key(ec.SECP256R1())).split(".")
    with pytest.raises(InvalidDPoPProof, match="signature"):
        _verify(verifier, f"{header}.{payload}.{foreign_signature}")
    with pytest.raises(InvalidDPoPProof, match="htm"):  # a cached header, a wrong claim
        _verify(verifier, make_proof(htm="GET"))
    with pytest.raises(InvalidDPoPProof, match="typ"):  # a new header is checked afresh
        _verify(verifier, make_proof(headers={"typ": "JWT"}))
    assert _verify(verifier, make_proof()).jkt == _verify(verifier, make_proof()).jkt
