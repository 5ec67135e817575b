"""Shared fixtures for the OAuth primitive tests: a frozen clock, a keyset, proof builders."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from tests.conftest import freeze_clock

from puhui.clock import FrozenClock, utcnow
from puhui.oauth.keys import Keyset, load_or_create

ISSUER = "https://open.puhui-bank.example"
RESOURCE = "https://api.puhui-bank.example"


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    with freeze_clock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC)) as clock:
        yield clock


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def keyset(key_dir: Path, frozen_clock: FrozenClock) -> Keyset:
    return load_or_create(key_dir)


@pytest.fixture
def client_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    return ECAlgorithm.to_jwk(key.public_key(), as_dict=True)


ProofBuilder = Callable[..., str]


@pytest.fixture
def make_proof(client_key: ec.EllipticCurvePrivateKey) -> ProofBuilder:
    """Build a DPoP proof; keyword arguments override claims, `headers` override the header."""

    def build(
        *,
        htm: str = "POST",
        htu: str = f"{ISSUER}/token",
        key: ec.EllipticCurvePrivateKey | None = None,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        signer = key or client_key
        payload: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": htm,
            "htu": htu,
            "iat": int(utcnow().timestamp()),
            **claims,
        }
        for name in drop:
            payload.pop(name, None)
        header = {"typ": "dpop+jwt", "jwk": public_jwk(signer), **(headers or {})}
        return jwt.encode(payload, signer, algorithm="ES256", headers=header)

    return build
