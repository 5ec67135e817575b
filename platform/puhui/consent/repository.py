"""Every consent query. Customer-side reads run under an audited tenant bypass set by the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from puhui.consent.models import Consent, ConsentHistory, ConsentReceipt, ConsentStatus
from puhui.db.repository import Repository

__all__ = ["ConsentHistoryRepository", "ConsentReceiptRepository", "ConsentRepository"]


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
        stmt = (
            select(Consent)
            .where(
                or_(
                    (Consent.status == ConsentStatus.AUTHORISED) & (Consent.valid_until <= now),
                    (Consent.status == ConsentStatus.AWAITING_AUTHORISATION)
                    & (Consent.authorise_by <= now),
                )
            )
            .order_by(Consent.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


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
