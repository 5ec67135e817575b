"""Queries for products, offers, applications, idempotency keys and leads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.consent.models import Consent
from puhui.db.repository import Repository
from puhui.lending.models import (
    Application,
    ApplicationStatus,
    IdempotencyRecord,
    Lead,
    LoanProduct,
    Offer,
    OfferStatus,
)

__all__ = [
    "ApplicationRepository",
    "ConsentedEnterprise",
    "IdempotencyRepository",
    "LeadRepository",
    "OfferRepository",
    "ProductRepository",
]


class ProductRepository(Repository[LoanProduct]):
    model = LoanProduct

    async def find(self, code: str, version: int) -> LoanProduct | None:
        stmt = select(LoanProduct).where(LoanProduct.code == code, LoanProduct.version == version)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def in_force(self, at: datetime) -> Sequence[LoanProduct]:
        """The latest version of every product in force at `at`, ordered by code."""
        stmt = (
            select(LoanProduct)
            .where(LoanProduct.effective_from <= at)
            .order_by(LoanProduct.code, LoanProduct.version.desc())
        )
        latest: dict[str, LoanProduct] = {}
        for row in (await self.session.execute(stmt)).scalars():
            if row.code in latest:
                continue
            if row.effective_to is None or row.effective_to > at:
                latest[row.code] = row
        return [latest[code] for code in sorted(latest)]

    async def current(self, code: str, at: datetime) -> LoanProduct | None:
        for row in await self.in_force(at):
            if row.code == code:
                return row
        return None


class OfferRepository(Repository[Offer]):
    model = Offer

    async def lapsed(self, at: datetime, batch: int) -> Sequence[Offer]:
        """Open offers (created or delivered) whose validity ended by `at`, oldest first."""
        stmt = (
            self.query()
            .where(
                Offer.expires_at <= at,
                Offer.status.in_((OfferStatus.CREATED, OfferStatus.DELIVERED)),
            )
            .order_by(Offer.expires_at, Offer.id)
            .limit(batch)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open_for(self, uscc: str, product_code: str) -> Sequence[Offer]:
        stmt = self.query().where(
            Offer.uscc == uscc,
            Offer.product_code == product_code,
            Offer.status.in_((OfferStatus.CREATED, OfferStatus.DELIVERED)),
        )
        return (await self.session.execute(stmt)).scalars().all()


class ApplicationRepository(Repository[Application]):
    model = Application

    async def open_before(self, at: datetime, batch: int | None = None) -> Sequence[Application]:
        stmt = (
            self.query()
            .where(
                Application.expires_at <= at,
                Application.status.in_(
                    (
                        ApplicationStatus.DRAFT,
                        ApplicationStatus.COLLECTING_DATA,
                        ApplicationStatus.DATA_READY,
                    )
                ),
            )
            .order_by(Application.expires_at, Application.id)
            .limit(batch)
        )
        return (await self.session.execute(stmt)).scalars().all()


class IdempotencyRepository(Repository[IdempotencyRecord]):
    model = IdempotencyRecord

    async def find(self, caller: str, operation: str, key: str) -> IdempotencyRecord | None:
        stmt = select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller,
            IdempotencyRecord.operation == operation,
            IdempotencyRecord.key == key,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class LeadRepository(Repository[Lead]):
    model = Lead

    async def for_application(self, application_id: uuid.UUID) -> Sequence[Lead]:
        stmt = self.query().where(Lead.application_id == application_id)
        return (await self.session.execute(stmt)).scalars().all()


class ConsentedEnterprise:
    """Which enterprise a customer's consent covers (the consent domain owns the row)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def uscc_of(self, consent_id: uuid.UUID) -> str | None:
        stmt = select(Consent.enterprise_uscc).where(Consent.id == consent_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()
