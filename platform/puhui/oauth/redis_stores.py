"""Redis versions of the OAuth stores, shared by every worker: SET NX PXAT and GETDEL.

Replay caches and the revocation list must be shared when a deployment runs several workers,
or a proof replayed to another worker would pass (RFC 9449 11.1).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from puhui.clock import utcnow
from puhui.oauth.par import AuthorizationRequest, PushedAuthorizationRequest
from puhui.oauth.revocation import CLIENT_REVOCATION_SPAN

__all__ = [
    "RedisPushedRequestStore",
    "RedisReplayCache",
    "RedisRevocationList",
    "decode_pushed",
    "encode_pushed",
]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def encode_pushed(pushed: PushedAuthorizationRequest) -> bytes:
    """A pushed request as JSON bytes (shared stores keep data, never pickles)."""
    request = asdict(pushed.request)
    request["scope"] = sorted(pushed.request.scope)
    return json.dumps(
        {
            "request_uri": pushed.request_uri,
            "created_at": pushed.created_at.isoformat(),
            "expires_at": pushed.expires_at.isoformat(),
            "request": request,
        }
    ).encode()


def decode_pushed(raw: bytes) -> PushedAuthorizationRequest:
    # JSON, never pickle: what is read back from Redis is data, not code.
    doc = json.loads(raw)
    request = doc["request"]
    request["scope"] = frozenset(request["scope"])
    request["authorization_details"] = tuple(request["authorization_details"])
    return PushedAuthorizationRequest(
        request_uri=doc["request_uri"],
        request=AuthorizationRequest(**request),
        created_at=datetime.fromisoformat(doc["created_at"]),
        expires_at=datetime.fromisoformat(doc["expires_at"]),
    )


class RedisReplayCache:
    """`ReplayCache` on Redis: the first `remember` of a key wins, atomically."""

    def __init__(self, redis: Any, namespace: str = "puhui:oauth:jti:") -> None:
        self._redis = redis
        self._namespace = namespace

    async def remember(self, key: str, expires_at: datetime) -> bool:
        stored = await self._redis.set(
            self._namespace + key, b"1", nx=True, pxat=max(_ms(expires_at), _ms(utcnow()) + 1)
        )
        return bool(stored)


class RedisPushedRequestStore:
    """`PushedRequestStore` on Redis: `GETDEL` makes the single use atomic across workers."""

    def __init__(self, redis: Any, namespace: str = "puhui:oauth:par:") -> None:
        self._redis = redis
        self._namespace = namespace

    async def put(self, request: PushedAuthorizationRequest) -> None:
        await self._redis.set(
            self._namespace + request.request_uri,
            encode_pushed(request),
            pxat=_ms(request.expires_at),
        )

    async def take(self, request_uri: str) -> PushedAuthorizationRequest | None:
        raw = await self._redis.getdel(self._namespace + request_uri)
        if raw is None:
            return None
        return decode_pushed(raw)


class RedisRevocationList:
    """`RevocationList` on Redis: one key per revoked jti, expiring with the token."""

    def __init__(self, redis: Any, namespace: str = "puhui:oauth:revoked:") -> None:
        self._redis = redis
        self._namespace = namespace
        self._client_namespace = namespace.rstrip(":") + "-client:"

    async def revoke(self, jti: str, expires_at: datetime, *, session: Any = None) -> None:
        await self._redis.set(
            self._namespace + jti, b"1", pxat=max(_ms(expires_at), _ms(utcnow()) + 1)
        )

    async def revoke_client(self, client_id: str, *, session: Any = None) -> None:
        until = utcnow() + CLIENT_REVOCATION_SPAN
        await self._redis.set(self._client_namespace + client_id, b"1", pxat=_ms(until))

    async def is_revoked(self, jti: str, client_id: str | None = None) -> bool:
        # One round trip for both questions: EXISTS counts the keys that are present.
        if client_id is None:
            return bool(await self._redis.exists(self._namespace + jti))
        return bool(
            await self._redis.exists(self._namespace + jti, self._client_namespace + client_id)
        )
