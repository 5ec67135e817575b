"""Every consent query. Customer-side reads run under an audited tenant bypass set by the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from puhui.clock import utcnow
from puhui.consent.models import (
    Consent,
    ConsentHistory,
    ConsentReceipt,
    ConsentStatus,
    ConsentUse,
)
from puhui.db.repository import Repository

__all__ = [
    "ConsentHistoryRepository",
    "ConsentReceiptRepository",
    "ConsentRepository",
    "ConsentUseRepository",
]


class ConsentRepository(Repository[Consent]):
    model = Consent

    async def find(self, consent_id: uuid.UUID) -> Consent | None:
        stmt = select(Consent).where(Consent.id == consent_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_customer(
        self, customer_user_id: uuid.UUID, *, limit: int = 200
    ) -> Sequence[Consent]:
        stmt = (
            select(Consent)
            .where(Consent.customer_user_id == customer_user_id)
            .order_by(Consent.created_at.desc(), Consent.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def customer_consent(
        self, consent_id: uuid.UUID, customer_user_id: uuid.UUID
    ) -> Consent | None:
        stmt = select(Consent).where(
            Consent.id == consent_id, Consent.customer_user_id == customer_user_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lapsed(self, now: datetime, *, limit: int) -> Sequence[Consent]:
        """Authorised consents past validity and requests never authorised in time."""
        stmt = select(Consent).where(_lapsed(now)).order_by(Consent.id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def lapsed_count(self, now: datetime) -> int:
        """How many consents `lapsed` would return without a limit (a job's progress total)."""
        stmt = select(func.count()).select_from(Consent).where(_lapsed(now))
        return int(await self.session.scalar(stmt) or 0)


def _lapsed(now: datetime) -> ColumnElement[bool]:
    return or_(
        (Consent.status == ConsentStatus.AUTHORISED) & (Consent.valid_until <= now),
        (Consent.status == ConsentStatus.AWAITING_AUTHORISATION) & (Consent.authorise_by <= now),
    )


class ConsentHistoryRepository(Repository[ConsentHistory]):
    model = ConsentHistory

    async def of(self, consent_id: uuid.UUID) -> Sequence[ConsentHistory]:
        stmt = (
            select(ConsentHistory)
            .where(ConsentHistory.consent_id == consent_id)
            .order_by(ConsentHistory.occurred_at, ConsentHistory.id)
        )
        return (await self.session.execute(stmt)).scalars().all()


class ConsentReceiptRepository(Repository[ConsentReceipt]):
    model = ConsentReceipt

    async def of(self, consent_id: uuid.UUID) -> Sequence[ConsentReceipt]:
        stmt = (
            select(ConsentReceipt)
            .where(ConsentReceipt.consent_id == consent_id)
            .order_by(ConsentReceipt.issued_at, ConsentReceipt.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def get_for_customer(
        self, receipt_id: uuid.UUID, customer_user_id: uuid.UUID
    ) -> ConsentReceipt | None:
        stmt = (
            select(ConsentReceipt)
            .join(Consent, Consent.id == ConsentReceipt.consent_id)
            .where(ConsentReceipt.id == receipt_id, Consent.customer_user_id == customer_user_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def one(self, consent_id: uuid.UUID, receipt_id: uuid.UUID) -> ConsentReceipt | None:
        stmt = select(ConsentReceipt).where(
            ConsentReceipt.consent_id == consent_id, ConsentReceipt.id == receipt_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class ConsentUseRepository(Repository[ConsentUse]):
    model = ConsentUse

    async def record(self, consent_id: uuid.UUID, day: date) -> int:
        """Count one use atomically (upsert on consent and day); the day's count including it."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(ConsentUse)
            .values(id=uuid.uuid4(), consent_id=consent_id, day=day, uses=1)
            .on_conflict_do_update(
                index_elements=[ConsentUse.consent_id, ConsentUse.day],
                set_={"uses": ConsentUse.uses + 1, "updated_at": utcnow()},
            )
            .returning(ConsentUse.uses)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def on(self, consent_id: uuid.UUID, day: date) -> int:
        stmt = select(ConsentUse.uses).where(
            ConsentUse.consent_id == consent_id, ConsentUse.day == day
        )
        return int(await self.session.scalar(stmt) or 0)
