"""private_key_jwt client authentication at FAPI 2.0 grade."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from puhui.clock import FrozenClock, utcnow
from puhui.oauth.client_assertion import (
    ClientAssertionVerifier,
    ClientJWKSResolver,
    ClientKeys,
    InvalidClientAssertion,
    JWKSUnavailable,
    VerifiedClientAssertion,
)
from puhui.oauth.stores import MemoryReplayCache

ISSUER = "https://open.puhui-bank.example"
CLIENT_ID = "client-a"


def _jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


def _assertion(key: ec.EllipticCurvePrivateKey, kid: str | None = "k1", **claims: Any) -> str:
    now = int(utcnow().timestamp())
    payload = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
        **claims,
    }
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, key, algorithm="ES256", headers=headers)


@pytest.fixture
def client(client_key: ec.EllipticCurvePrivateKey) -> ClientKeys:
    return ClientKeys(client_id=CLIENT_ID, jwks={"keys": [_jwk(client_key, "k1")]})


@pytest.fixture
def verifier(frozen_clock: FrozenClock) -> ClientAssertionVerifier:
    return ClientAssertionVerifier(issuer=ISSUER, replay_cache=MemoryReplayCache())


def _verify(
    verifier: ClientAssertionVerifier, assertion: str, client: ClientKeys
) -> VerifiedClientAssertion:
    return asyncio.run(verifier.verify(assertion, client))


def test_valid_assertion_authenticates_the_client(
    verifier: ClientAssertionVerifier, client: ClientKeys, client_key: ec.EllipticCurvePrivateKey
) -> None:
    verified = _verify(verifier, _assertion(client_key), client)
    assert verified.client_id == CLIENT_ID
    assert verified.kid == "k1"


@pytest.mark.parametrize(
    "aud",
    [
        f"{ISSUER}/token",  # the token endpoint URL: accepted by RFC 7523, refused by FAPI 2.0
        [ISSUER],
        [ISSUER, "https://other.example"],
        "https://other.example",
    ],
)
def test_audience_other_than_the_issuer_string_is_rejected(
    verifier: ClientAssertionVerifier,
    client: ClientKeys,
    client_key: ec.EllipticCurvePrivateKey,
    aud: Any,
) -> None:
    with pytest.raises(InvalidClientAssertion, match="aud") as caught:
        _verify(verifier, _assertion(client_key, aud=aud), client)
    assert caught.value.error == "invalid_client"


def test_iss_and_sub_must_be_the_client(
    verifier: ClientAssertionVerifier, client: ClientKeys, client_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(InvalidClientAssertion, match="iss and sub"):
        _verify(verifier, _assertion(client_key, sub="client-b"), client)
    with pytest.raises(InvalidClientAssertion, match="iss and sub"):
        _verify(verifier, _assertion(client_key, iss="client-b"), client)


def test_exp_must_be_present_future_and_near(
    verifier: ClientAssertionVerifier,
    client: ClientKeys,
    client_key: ec.EllipticCurvePrivateKey,
    frozen_clock: FrozenClock,
) -> None:
    now = int(frozen_clock.now().timestamp())
    with pytest.raises(InvalidClientAssertion, match="too far"):
        _verify(verifier, _assertion(client_key, exp=now + 120), client)
    with pytest.raises(InvalidClientAssertion, match="expired"):
        _verify(verifier, _assertion(client_key, exp=now), client)
    with pytest.raises(InvalidClientAssertion, match="exp is required"):
        _verify(verifier, _assertion(client_key, exp=None), client)


def test_iat_and_nbf_sanity(
    verifier: ClientAssertionVerifier,
    client: ClientKeys,
    client_key: ec.EllipticCurvePrivateKey,
    frozen_clock: FrozenClock,
) -> None:
    now = int(frozen_clock.now().timestamp())
    with pytest.raises(InvalidClientAssertion, match="iat"):
        _verify(verifier, _assertion(client_key, iat=now + 60), client)
    with pytest.raises(InvalidClientAssertion, match="iat"):
        _verify(verifier, _assertion(client_key, iat=now - 3600), client)
    with pytest.raises(InvalidClientAssertion, match="not yet valid"):
        _verify(verifier, _assertion(client_key, nbf=now + 30), client)
    _verify(verifier, _assertion(client_key, iat=None, nbf=now), client)


def test_replayed_jti_is_rejected(
    verifier: ClientAssertionVerifier, client: ClientKeys, client_key: ec.EllipticCurvePrivateKey
) -> None:
    assertion = _assertion(client_key)
    _verify(verifier, assertion, client)
    with pytest.raises(InvalidClientAssertion, match="already used"):
        _verify(verifier, assertion, client)
    with pytest.raises(InvalidClientAssertion, match="jti is required"):
        _verify(verifier, _assertion(client_key, jti=None), client)


def test_signature_must_come_from_the_clients_keys(
    verifier: ClientAssertionVerifier, client: ClientKeys
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidClientAssertion, match="signature"):
        _verify(verifier, _assertion(stranger), client)
    with pytest.raises(InvalidClientAssertion, match="no client key"):
        _verify(verifier, _assertion(stranger, kid="k9"), client)


def test_algorithms_outside_the_allowlist_are_rejected(
    verifier: ClientAssertionVerifier, client: ClientKeys
) -> None:
    now = int(utcnow().timestamp())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": ISSUER, "exp": now + 30, "jti": "x"}
    hs = jwt.encode(claims, "a-shared-secret-that-is-long-enough!", algorithm="HS256")
    with pytest.raises(InvalidClientAssertion, match="not allowed"):
        _verify(verifier, hs, client)


def test_kid_is_needed_when_several_keys_fit(
    verifier: ClientAssertionVerifier, client_key: ec.EllipticCurvePrivateKey
) -> None:
    second = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [_jwk(client_key, "k1"), _jwk(second, "k2")]}
    client = ClientKeys(client_id=CLIENT_ID, jwks=jwks)
    with pytest.raises(InvalidClientAssertion, match="must name a kid"):
        _verify(verifier, _assertion(client_key, kid=None), client)
    _verify(verifier, _assertion(second, kid="k2"), client)


def test_private_key_in_client_jwks_is_refused(
    verifier: ClientAssertionVerifier, client_key: ec.EllipticCurvePrivateKey
) -> None:
    leaked = {**ECAlgorithm.to_jwk(client_key, as_dict=True), "kid": "k1"}
    client = ClientKeys(client_id=CLIENT_ID, jwks={"keys": [leaked]})
    with pytest.raises(InvalidClientAssertion, match="private"):
        _verify(verifier, _assertion(client_key), client)


class CountingFetcher:
    def __init__(self, documents: list[Mapping[str, Any]]) -> None:
        self.documents = documents
        self.calls = 0

    async def fetch(self, jwks_uri: str) -> Mapping[str, Any]:
        self.calls += 1
        if not self.documents:
            raise JWKSUnavailable(jwks_uri)
        return self.documents[min(self.calls, len(self.documents)) - 1]


def test_jwks_uri_is_cached_and_refetched_on_unknown_kid(
    client_key: ec.EllipticCurvePrivateKey, frozen_clock: FrozenClock
) -> None:
    rotated = ec.generate_private_key(ec.SECP256R1())
    fetcher = CountingFetcher([{"keys": [_jwk(client_key, "k1")]}, {"keys": [_jwk(rotated, "k2")]}])
    verifier = ClientAssertionVerifier(
        issuer=ISSUER,
        replay_cache=MemoryReplayCache(),
        resolver=ClientJWKSResolver(fetcher, min_refresh_interval=timedelta(seconds=30)),
    )
    client = ClientKeys(client_id=CLIENT_ID, jwks_uri="https://client.example/jwks")
    _verify(verifier, _assertion(client_key), client)
    _verify(verifier, _assertion(client_key), client)
    assert fetcher.calls == 1
    with pytest.raises(InvalidClientAssertion, match="no client key"):
        _verify(verifier, _assertion(rotated, kid="k2"), client)  # too soon to refetch
    frozen_clock.advance(timedelta(seconds=30))
    _verify(verifier, _assertion(rotated, kid="k2"), client)
    assert fetcher.calls == 2


def test_unreachable_jwks_uri_fails_closed(frozen_clock: FrozenClock) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    verifier = ClientAssertionVerifier(
        issuer=ISSUER,
        replay_cache=MemoryReplayCache(),
        resolver=ClientJWKSResolver(CountingFetcher([])),
    )
    client = ClientKeys(client_id=CLIENT_ID, jwks_uri="https://client.example/jwks")
    with pytest.raises(InvalidClientAssertion, match="unavailable"):
        _verify(verifier, _assertion(key), client)


def test_client_keys_need_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ClientKeys(client_id=CLIENT_ID)
