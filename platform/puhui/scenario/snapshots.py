"""Last-good upstream responses in the database, so degraded mode survives restarts (6.3.2 d)."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.outbound import Snapshot
from puhui.scenario.models import LastGoodSnapshot

__all__ = ["DbLastGoodStore", "forget_snapshots_of"]

# Pull keys look like "tax:/v1/enterprises/<USCC>/vat-returns?limit=100".
_USCC_IN_KEY = re.compile(r"/enterprises/([0-9A-Z]{18})/")


class DbLastGoodStore:
    """:class:`puhui.outbound.LastGoodStore` on the session's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> Snapshot | None:
        stmt = select(LastGoodSnapshot).where(LastGoodSnapshot.key == key)
        row = (await self._session.execute(stmt)).scalar_one_or_none()
        return None if row is None else Snapshot(row.key, row.body, row.taken_at)

    async def put(self, key: str, body: bytes) -> Snapshot:
        now = utcnow()
        stmt = select(LastGoodSnapshot).where(LastGoodSnapshot.key == key)
        row = (await self._session.execute(stmt)).scalar_one_or_none()
        if row is None:
            match = _USCC_IN_KEY.search(key)
            row = LastGoodSnapshot(
                key=key[:500], uscc=match.group(1) if match else None, body=body, taken_at=now
            )
            self._session.add(row)
        else:
            row.body, row.taken_at = body, now
        return Snapshot(key, body, now)


async def forget_snapshots_of(session: AsyncSession, uscc: str) -> int:
    """Destroy every cached upstream response about an enterprise (retention, revocation)."""
    result = await session.execute(delete(LastGoodSnapshot).where(LastGoodSnapshot.uscc == uscc))
    return int(getattr(result, "rowcount", 0) or 0)
