"""The OAuth server's process-wide parts, built once per app: keys, verifiers and stores.

This is the one place that chooses the stores: Redis when `settings.redis_url` is set, so that
every worker shares replay caches, pushed requests and revocations; without Redis, the database
when several workers serve (`PUHUI_WORKERS` > 1, set by `puhui serve --workers`); else memory.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from litestar.datastructures import State

from puhui.config import Settings
from puhui.db.session import SessionFactory
from puhui.oauth.client_assertion import ClientAssertionVerifier, ClientJWKSResolver
from puhui.oauth.db_stores import (
    DatabasePushedRequestStore,
    DatabaseReplayCache,
    DatabaseRevocationList,
)
from puhui.oauth.dpop import DPoPNonces, DPoPVerifier
from puhui.oauth.jwks_fetch import OutboundJWKSFetcher
from puhui.oauth.jwt_tokens import AccessTokenIssuer, AccessTokenVerifier, VerifiedTokenCache
from puhui.oauth.keys import KeyRing, load_or_create
from puhui.oauth.redis_stores import (
    RedisPushedRequestStore,
    RedisReplayCache,
    RedisRevocationList,
)
from puhui.oauth.revocation import MemoryRevocationList, RevocationList
from puhui.oauth.server import PuhuiAuthorizationServer
from puhui.oauth.stores import (
    MemoryPushedRequestStore,
    MemoryReplayCache,
    PushedRequestStore,
    ReplayCache,
)

__all__ = [
    "ACCESS_TOKEN_PURPOSE",
    "STATEMENT_PURPOSE",
    "OAuthRuntime",
    "oauth_runtime",
    "resource_audience",
]

ACCESS_TOKEN_PURPOSE: Final = "access-token"  # noqa: S105 - a keyset name
STATEMENT_PURPOSE: Final = "software-statement"
_STATE_KEY: Final = "oauth_runtime"
_NONCE_SECRET_FILE: Final = "dpop-nonce.secret"  # noqa: S105 - a file name


def resource_audience(issuer: str) -> str:
    """The `aud` of access tokens: the platform's API (RFC 9068 3), distinct from the issuer."""
    return f"{issuer}/api"


def _nonce_secret(key_dir: Path) -> bytes:
    """The DPoP nonce secret shared by all workers: created once (mode 0600), then read."""
    key_dir.mkdir(parents=True, exist_ok=True)
    path = key_dir / _NONCE_SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        secret = secrets.token_bytes(32)
        handle.write(secret.hex())
        return secret


@dataclass(frozen=True, slots=True)
class OAuthRuntime:
    settings: Settings
    issuer: str
    audience: str
    keys: KeyRing
    statement_keys: KeyRing
    tokens: AccessTokenIssuer
    verifier: AccessTokenVerifier
    token_cache: VerifiedTokenCache
    replay: ReplayCache
    pushed: PushedRequestStore
    revocations: RevocationList
    nonces: DPoPNonces
    token_dpop: DPoPVerifier
    resource_dpop: DPoPVerifier
    assertions: ClientAssertionVerifier
    server: PuhuiAuthorizationServer

    @classmethod
    def build(
        cls, settings: Settings, redis: Any, db: SessionFactory | None = None
    ) -> OAuthRuntime:
        load_or_create(settings.key_dir, purpose=ACCESS_TOKEN_PURPOSE)
        load_or_create(settings.key_dir, purpose=STATEMENT_PURPOSE)
        keys = KeyRing(settings.key_dir, purpose=ACCESS_TOKEN_PURPOSE)
        replay: ReplayCache
        pushed: PushedRequestStore
        revocations: RevocationList
        if redis is not None:
            replay = RedisReplayCache(redis)
            pushed = RedisPushedRequestStore(redis)
            revocations = RedisRevocationList(redis)
        elif db is not None and settings.workers > 1:
            replay = DatabaseReplayCache(db)
            pushed = DatabasePushedRequestStore(db)
            revocations = DatabaseRevocationList(db)
        else:
            replay = MemoryReplayCache()
            pushed = MemoryPushedRequestStore()
            revocations = MemoryRevocationList()
        secret = _nonce_secret(settings.key_dir)
        nonces = DPoPNonces([secret], realm="token")
        audience = resource_audience(settings.issuer)
        cache = VerifiedTokenCache()
        return cls(
            settings=settings,
            issuer=settings.issuer,
            audience=audience,
            keys=keys,
            statement_keys=KeyRing(settings.key_dir, purpose=STATEMENT_PURPOSE),
            tokens=AccessTokenIssuer(keys, issuer=settings.issuer),
            verifier=AccessTokenVerifier(
                keys, issuer=settings.issuer, audience=audience, cache=cache
            ),
            token_cache=cache,
            replay=replay,
            pushed=pushed,
            revocations=revocations,
            nonces=nonces,
            # FAPI 2.0 5.3.2.1: server-provided nonces at the token endpoint (RFC 9449 8)
            token_dpop=DPoPVerifier(replay, nonces=nonces, require_nonce=True),
            resource_dpop=DPoPVerifier(replay),
            assertions=ClientAssertionVerifier(
                issuer=settings.issuer,
                replay_cache=replay,
                resolver=ClientJWKSResolver(OutboundJWKSFetcher(allow_http=settings.sandbox)),
            ),
            server=PuhuiAuthorizationServer(),
        )


def oauth_runtime(state: State) -> OAuthRuntime:
    """The app's runtime, made on first use (key files are created then, not at import)."""
    runtime = state.get(_STATE_KEY)
    if runtime is None:
        runtime = OAuthRuntime.build(state.settings, state.get("redis"), state.get("db"))
        state[_STATE_KEY] = runtime
    if not isinstance(runtime, OAuthRuntime):
        raise TypeError("app.state.oauth_runtime is not an OAuthRuntime")
    return runtime
