"""Server-side portal sessions in a Litestar store (memory by default, Redis in scale mode).

The cookie holds only a random id; the store holds who is signed in, the CSRF token and the
session's start and last-seen times (idle and absolute timeouts).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

import msgspec
from litestar.stores.base import Store

from puhui.clock import utcnow

__all__ = ["COOKIE_NAME", "PortalSession", "SessionStore"]

COOKIE_NAME = "puhui_session"


class PortalSession(msgspec.Struct, kw_only=True):
    member_id: uuid.UUID
    tenant_id: uuid.UUID
    csrf_token: str
    started_at: datetime
    last_seen_at: datetime
    locale: str = "zh"


class SessionStore:
    def __init__(self, store: Store, *, idle_seconds: int, absolute_seconds: int) -> None:
        self._store = store
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    @staticmethod
    def _key(session_id: str) -> str:
        # Store keys are hashes: a leaked store dump does not hand out live cookies.
        return "sess:" + hashlib.sha256(session_id.encode()).hexdigest()

    async def create(
        self, member_id: uuid.UUID, tenant_id: uuid.UUID, locale: str = "zh"
    ) -> tuple[str, PortalSession]:
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        session = PortalSession(
            member_id=member_id,
            tenant_id=tenant_id,
            csrf_token=secrets.token_urlsafe(24),
            started_at=now,
            last_seen_at=now,
            locale=locale,
        )
        await self._store.set(
            self._key(session_id), msgspec.msgpack.encode(session), expires_in=self.idle_seconds
        )
        return session_id, session

    async def get(self, session_id: str) -> PortalSession | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self._store.get(self._key(session_id))
        if raw is None:
            return None
        session = msgspec.msgpack.decode(raw, type=PortalSession)
        now = utcnow()
        if (now - session.started_at).total_seconds() > self.absolute_seconds or (
            now - session.last_seen_at
        ).total_seconds() > self.idle_seconds:
            await self.delete(session_id)
            return None
        if (now - session.last_seen_at).total_seconds() > 60:  # refresh at most once a minute
            session.last_seen_at = now
            await self._store.set(
                self._key(session_id), msgspec.msgpack.encode(session), expires_in=self.idle_seconds
            )
        return session

    async def delete(self, session_id: str) -> None:
        await self._store.delete(self._key(session_id))
