"""The consent status board: each consent's current state, read on every protected call.

One key per consent in Redis (when configured) holds ``{version, status, valid_until, binding}``;
every state change writes it, every call reads it (fast path), a miss reads the database and
fills the key only if it is still absent, so a concurrent change is never overwritten by an
older read. Without Redis each worker keeps the states in-process, stamped with the row version,
and checks only the stamp in the database per call (one indexed column): right in any number of
workers, cheaper than reloading the consent.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentStatus

__all__ = ["ConsentBoard", "ConsentState", "board_of"]

_TTL_SECONDS = 300  # a key lapses back to the database at least this often
_MAX_LOCAL = 50_000


class ConsentState(msgspec.Struct, frozen=True, kw_only=True):
    """What enforcement needs to know about a consent, stamped with the row version."""

    consent_id: uuid.UUID
    version: int
    status: str
    valid_until: float | None  # epoch seconds
    tenant_id: uuid.UUID
    client_id: str
    customer_user_id: uuid.UUID | None
    uses_per_day: int = 0  # 0: no limit known (a state written before the field existed)

    @classmethod
    def of(cls, consent: Consent) -> ConsentState:
        return cls(
            consent_id=consent.id,
            version=consent.version,
            status=consent.status.value,
            valid_until=consent.valid_until.timestamp() if consent.valid_until else None,
            tenant_id=consent.tenant_id,
            client_id=consent.client_id,
            customer_user_id=consent.customer_user_id,
            uses_per_day=consent.uses_per_day,
        )

    def is_active(self, now: datetime | None = None) -> bool:
        """Authorised and within validity: the one test every protected call applies."""
        if self.status != ConsentStatus.AUTHORISED.value or self.valid_until is None:
            return False
        return (now or utcnow()).timestamp() < self.valid_until

    @property
    def valid_until_at(self) -> datetime | None:
        return None if self.valid_until is None else datetime.fromtimestamp(self.valid_until, UTC)


class ConsentBoard:
    """Current consent states: Redis when given, else in-process checked by version stamp."""

    def __init__(self, redis: Any = None) -> None:
        self._redis = redis
        self._local: OrderedDict[uuid.UUID, ConsentState] = OrderedDict()

    @staticmethod
    def key(consent_id: uuid.UUID) -> str:
        return f"puhui:consent:{consent_id}"

    async def publish(self, consent: Consent) -> None:
        """Write the consent's new state (after the change is flushed, so its version is final)."""
        state = ConsentState.of(consent)
        if self._redis is not None:
            await self._redis.set(self.key(consent.id), msgspec.json.encode(state), ex=_TTL_SECONDS)
        self._remember(state)

    async def current(self, session: AsyncSession, consent_id: uuid.UUID) -> ConsentState | None:
        """The consent's state now, or None if it does not exist for this session's tenant."""
        if self._redis is not None:
            raw = await self._redis.get(self.key(consent_id))
            if raw is not None:
                return msgspec.json.decode(raw, type=ConsentState)
        else:
            stamp = (
                await session.execute(select(Consent.version).where(Consent.id == consent_id))
            ).scalar_one_or_none()
            if stamp is None:
                return None
            cached = self._local.get(consent_id)
            if cached is not None and cached.version == stamp:
                return cached
        consent = (
            await session.execute(select(Consent).where(Consent.id == consent_id))
        ).scalar_one_or_none()
        if consent is None:
            return None
        state = ConsentState.of(consent)
        if self._redis is not None:
            # nx: a state written by a change since our read wins over our (older) read.
            await self._redis.set(
                self.key(consent_id), msgspec.json.encode(state), ex=_TTL_SECONDS, nx=True
            )
        else:
            self._remember(state)
        return state

    def _remember(self, state: ConsentState) -> None:
        known = self._local.get(state.consent_id)
        if known is not None and known.version > state.version:
            return  # never replace a newer stamp with an older one
        self._local[state.consent_id] = state
        self._local.move_to_end(state.consent_id)
        while len(self._local) > _MAX_LOCAL:
            self._local.popitem(last=False)


def board_of(app_state: Any) -> ConsentBoard:
    """The app's board, made on first use from the app's Redis client."""
    board = getattr(app_state, "consent_board", None)
    if board is None:
        board = ConsentBoard(app_state.redis)
        app_state.consent_board = board
    return board
