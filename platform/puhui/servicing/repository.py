"""Every servicing query: loans and their schedule lines, contracts, disbursements, repayments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from puhui.db.repository import Repository
from puhui.errors import NotFound
from puhui.servicing.models import (
    Contract,
    Disbursement,
    Disposal,
    EarlyWarning,
    JournalEntry,
    Loan,
    LoanStatus,
    Posting,
    Repayment,
    ScheduleLine,
    SigningCode,
)

__all__ = ["ContractRepository", "LoanRepository", "WarningRepository"]


class LoanRepository(Repository[Loan]):
    model = Loan

    async def get_for_update(self, loan_id: uuid.UUID) -> Loan:
        """The loan, row-locked on PostgreSQL so concurrent postings on it queue up."""
        stmt = self.query().where(Loan.id == loan_id).with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise NotFound()
        return row

    async def by_application(self, application_id: uuid.UUID) -> Loan | None:
        stmt = self.query().where(Loan.application_id == application_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lines(self, loan_id: uuid.UUID) -> Sequence[ScheduleLine]:
        """The schedule in force: every line not superseded by a recalculation, by number."""
        stmt = (
            select(ScheduleLine)
            .where(ScheduleLine.loan_id == loan_id, ScheduleLine.superseded.is_(False))
            .order_by(ScheduleLine.number)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def lines_of(self, loan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ScheduleLine]]:
        """Lines in force of many loans in one query (batch jobs)."""
        stmt = (
            select(ScheduleLine)
            .where(ScheduleLine.loan_id.in_(loan_ids), ScheduleLine.superseded.is_(False))
            .order_by(ScheduleLine.loan_id, ScheduleLine.number)
        )
        out: dict[uuid.UUID, list[ScheduleLine]] = {loan_id: [] for loan_id in loan_ids}
        for line in (await self.session.execute(stmt)).scalars():
            out[line.loan_id].append(line)
        return out

    async def active_ids(
        self, *, after: uuid.UUID | None = None, limit: int = 500
    ) -> Sequence[uuid.UUID]:
        """Active loans in id order from a cursor: batch jobs page through them resumably."""
        stmt = select(Loan.id).where(Loan.status == LoanStatus.ACTIVE).order_by(Loan.id)
        if after is not None:
            stmt = stmt.where(Loan.id > after)
        return (await self.session.execute(stmt.limit(limit))).scalars().all()

    async def disbursement(self, loan_id: uuid.UUID) -> Disbursement | None:
        stmt = select(Disbursement).where(Disbursement.loan_id == loan_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def disbursements_in(self, state: str) -> Sequence[Disbursement]:
        stmt = select(Disbursement).where(Disbursement.state == state)
        return (await self.session.execute(stmt)).scalars().all()

    async def repayments(self, loan_id: uuid.UUID) -> Sequence[Repayment]:
        stmt = (
            select(Repayment)
            .where(Repayment.loan_id == loan_id)
            .order_by(Repayment.created_at, Repayment.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def repayment_by_key(self, key: str) -> Repayment | None:
        stmt = select(Repayment).where(Repayment.idempotency_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def entries(self, loan_id: uuid.UUID) -> Sequence[tuple[JournalEntry, Posting]]:
        stmt = (
            select(JournalEntry, Posting)
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .where(JournalEntry.loan_id == loan_id)
            .order_by(JournalEntry.created_at, JournalEntry.id, Posting.account)
        )
        return [(e, p) for e, p in (await self.session.execute(stmt)).all()]


class ContractRepository(Repository[Contract]):
    model = Contract

    async def for_loan(self, loan_id: uuid.UUID) -> Contract:
        stmt = self.query().where(Contract.loan_id == loan_id)
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise NotFound()
        return row

    async def open_codes(self, contract_id: uuid.UUID) -> Sequence[SigningCode]:
        stmt = (
            select(SigningCode)
            .where(SigningCode.contract_id == contract_id, SigningCode.consumed_at.is_(None))
            .order_by(SigningCode.created_at.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()


class WarningRepository(Repository[EarlyWarning]):
    model = EarlyWarning

    async def for_loan(self, loan_id: uuid.UUID) -> Sequence[tuple[EarlyWarning, Disposal]]:
        stmt = (
            select(EarlyWarning, Disposal)
            .join(Disposal, Disposal.warning_id == EarlyWarning.id)
            .where(EarlyWarning.loan_id == loan_id)
            .order_by(EarlyWarning.fired_at, EarlyWarning.rule)
        )
        return [(w, d) for w, d in (await self.session.execute(stmt)).all()]

    async def exists(self, loan_id: uuid.UUID, rule: str, observed_key: str) -> bool:
        stmt = select(EarlyWarning.id).where(
            EarlyWarning.loan_id == loan_id,
            EarlyWarning.rule == rule,
            EarlyWarning.observed_key == observed_key,
        )
        return (await self.session.execute(stmt)).first() is not None

    async def disposal(self, disposal_id: uuid.UUID) -> Disposal:
        row = await self.session.get(Disposal, disposal_id)
        if row is None:
            raise NotFound()
        return row

    async def disposals(self, *, state: str | None, limit: int, offset: int) -> Sequence[Disposal]:
        stmt = select(Disposal).order_by(Disposal.created_at, Disposal.id)
        if state is not None:
            stmt = stmt.where(Disposal.state == state)
        return (await self.session.execute(stmt.limit(limit).offset(offset))).scalars().all()
