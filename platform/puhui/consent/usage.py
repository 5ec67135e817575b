"""Use frequency: how many times a consent may be used per bank day, counted on every use.

A *use* is one protected call under the consent to an operation that declares scopes (it reaches
the data or services the customer granted); scope-less calls such as "who am I" are not uses.
The bank day is the calendar day in China Standard Time (UTC+8, no daylight saving).

Counting is atomic and shared by every worker: one Redis ``INCR`` (key expiring after two days)
when Redis is configured, else one ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` on the
``consent_uses`` row of the day.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from puhui.clock import utcnow
from puhui.consent.repository import ConsentUseRepository
from puhui.db.session import SessionFactory

__all__ = ["BANK_DAY", "ConsentUses", "bank_day", "seconds_to_next_bank_day", "uses_of"]

BANK_DAY: Final = timezone(timedelta(hours=8), "CST")
_KEY_TTL: Final = int(timedelta(days=2).total_seconds())


def bank_day(now: datetime) -> date:
    return now.astimezone(BANK_DAY).date()


def seconds_to_next_bank_day(now: datetime) -> int:
    local = now.astimezone(BANK_DAY)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), BANK_DAY)
    return max(1, int((midnight - local).total_seconds()) + 1)


class ConsentUses:
    """Counts uses per consent and bank day: Redis when given, else the database."""

    def __init__(self, db: SessionFactory, redis: Any = None) -> None:
        self._db = db
        self._redis = redis

    @staticmethod
    def key(consent_id: uuid.UUID, day: date) -> str:
        return f"puhui:consent-uses:{consent_id}:{day.isoformat()}"

    async def record(self, consent_id: uuid.UUID, now: datetime | None = None) -> int:
        """Count one use now; returns the number of uses of the day including this one."""
        day = bank_day(now or utcnow())
        if self._redis is not None:
            key = self.key(consent_id, day)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, _KEY_TTL)
                count, _ = await pipe.execute()
            return int(count)
        return await self._record_in_database(consent_id, day)

    async def count(self, consent_id: uuid.UUID, now: datetime | None = None) -> int:
        """Uses of the bank day so far."""
        day = bank_day(now or utcnow())
        if self._redis is not None:
            raw = await self._redis.get(self.key(consent_id, day))
            return int(raw or 0)
        async with self._db.unit_of_work() as session:
            return await ConsentUseRepository(session).on(consent_id, day)

    async def _record_in_database(self, consent_id: uuid.UUID, day: date) -> int:
        async with self._db.unit_of_work() as session:
            return await ConsentUseRepository(session).record(consent_id, day)


def uses_of(app_state: Any) -> ConsentUses:
    """The app's use counter, made on first use from the app's database and Redis."""
    counter = getattr(app_state, "consent_uses", None)
    if counter is None:
        counter = ConsentUses(app_state.db, app_state.redis)
        app_state.consent_uses = counter
    return counter
