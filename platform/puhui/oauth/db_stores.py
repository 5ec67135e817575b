"""Database versions of the OAuth stores, for several workers on one database without Redis.

Each operation is one atomic statement, so workers sharing the database (SQLite in WAL mode or
PostgreSQL) agree: `INSERT .. ON CONFLICT DO UPDATE .. WHERE expired .. RETURNING` remembers a
jti only once, `DELETE .. RETURNING` takes a pushed request only once. Slower than memory (a
write per replay check), so `OAuthRuntime` uses them only when `PUHUI_WORKERS` > 1 and no Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import SessionFactory
from puhui.oauth.models import OAuthSharedEntry
from puhui.oauth.par import PushedAuthorizationRequest
from puhui.oauth.redis_stores import decode_pushed, encode_pushed
from puhui.oauth.revocation import CLIENT_REVOCATION_SPAN

__all__ = [
    "DatabasePushedRequestStore",
    "DatabaseReplayCache",
    "DatabaseRevocationList",
    "purge_expired",
]

_TABLE = OAuthSharedEntry.__table__


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def _upsert(
    db: SessionFactory,
    key: str,
    expires_at: datetime,
    value: bytes | None = None,
    *,
    only_if_expired: bool,
    session: AsyncSession | None = None,
) -> bool:
    """Write the entry; with `only_if_expired`, an existing live entry wins (returns False).

    In `session` when given (it commits with the caller), else in a unit of work of its own.
    """
    if session is not None:
        return await _write(session, key, expires_at, value, only_if_expired=only_if_expired)
    async with db.unit_of_work() as own:
        return await _write(own, key, expires_at, value, only_if_expired=only_if_expired)


async def _write(
    session: AsyncSession,
    key: str,
    expires_at: datetime,
    value: bytes | None,
    *,
    only_if_expired: bool,
) -> bool:
    now = utcnow()
    insert = _insert(session.get_bind().dialect.name)
    stmt = insert(_TABLE).values(id=uuid.uuid4(), key=key, value=value, expires_at=expires_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={"expires_at": expires_at, "value": value, "updated_at": now},
        where=(_TABLE.c.expires_at <= now) if only_if_expired else None,
    ).returning(_TABLE.c.id)
    return (await session.execute(stmt)).first() is not None


class DatabaseReplayCache:
    """`ReplayCache` on the shared database: the first `remember` of a live key wins."""

    def __init__(self, db: SessionFactory, namespace: str = "jti:") -> None:
        self._db = db
        self._namespace = namespace

    async def remember(self, key: str, expires_at: datetime) -> bool:
        if expires_at <= utcnow():
            return True  # outside every window already: nothing to remember
        return await _upsert(self._db, self._namespace + key, expires_at, only_if_expired=True)


class DatabasePushedRequestStore:
    """`PushedRequestStore` on the shared database: `take` deletes and returns in one statement."""

    def __init__(self, db: SessionFactory, namespace: str = "par:") -> None:
        self._db = db
        self._namespace = namespace

    async def put(self, request: PushedAuthorizationRequest) -> None:
        key = self._namespace + request.request_uri
        value = encode_pushed(request)
        await _upsert(self._db, key, request.expires_at, value, only_if_expired=False)

    async def take(self, request_uri: str) -> PushedAuthorizationRequest | None:
        async with self._db.unit_of_work() as session:
            row = (
                await session.execute(
                    delete(OAuthSharedEntry)
                    .where(OAuthSharedEntry.key == self._namespace + request_uri)
                    .returning(OAuthSharedEntry.value, OAuthSharedEntry.expires_at)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if row is None or row[0] is None or row[1] <= utcnow():
            return None
        return decode_pushed(row[0])


class DatabaseRevocationList:
    """`RevocationList` on the shared database: one row per revoked jti or client."""

    def __init__(self, db: SessionFactory) -> None:
        self._db = db

    async def revoke(
        self, jti: str, expires_at: datetime, *, session: AsyncSession | None = None
    ) -> None:
        key = "revoked:" + jti
        await _upsert(self._db, key, expires_at, only_if_expired=False, session=session)

    async def revoke_client(self, client_id: str, *, session: AsyncSession | None = None) -> None:
        key, until = "revoked-client:" + client_id, utcnow() + CLIENT_REVOCATION_SPAN
        await _upsert(self._db, key, until, only_if_expired=False, session=session)

    async def is_revoked(self, jti: str, client_id: str | None = None) -> bool:
        keys: Sequence[str] = ["revoked:" + jti]
        if client_id is not None:
            keys = [*keys, "revoked-client:" + client_id]
        async with self._db.unit_of_work() as session:
            found = await session.scalar(
                select(OAuthSharedEntry.id)
                .where(OAuthSharedEntry.key.in_(keys), OAuthSharedEntry.expires_at > utcnow())
                .limit(1)
            )
        return found is not None


async def purge_expired(db: SessionFactory, *, batch: int = 1000) -> int:
    """Delete dead entries, one committed batch at a time; returns how many went."""
    purged = 0
    while True:
        async with db.unit_of_work() as session:
            ids = (
                await session.scalars(
                    select(OAuthSharedEntry.id)
                    .where(OAuthSharedEntry.expires_at <= utcnow())
                    .limit(batch)
                )
            ).all()
            if ids:
                await session.execute(
                    delete(OAuthSharedEntry)
                    .where(OAuthSharedEntry.id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
        purged += len(ids)
        if len(ids) < batch:
            return purged
