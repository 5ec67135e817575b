"""Every servicing query: loans and their schedule lines, contracts, disbursements, repayments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.customers.models import CustomerRole, CustomerStatus, CustomerUser, Enterprise
from puhui.db.repository import Repository
from puhui.errors import NotFound
from puhui.risk.models import CreditDecision
from puhui.servicing.models import (
    Contract,
    Disbursement,
    Disposal,
    EarlyWarning,
    JournalEntry,
    Loan,
    LoanStatus,
    ModelMonitoringReport,
    Posting,
    Repayment,
    ScheduleLine,
)

__all__ = [
    "ContractRepository",
    "LoanRepository",
    "MonitoringRepository",
    "WarningRepository",
    "legal_representative",
]


async def legal_representative(session: AsyncSession, uscc: str) -> uuid.UUID | None:
    """The active legal representative the bank knows for an enterprise: who signs for it."""
    stmt = (
        select(CustomerUser.id)
        .join(Enterprise, Enterprise.id == CustomerUser.enterprise_id)
        .where(
            Enterprise.uscc == uscc,
            CustomerUser.role == CustomerRole.LEGAL_REPRESENTATIVE,
            CustomerUser.status == CustomerStatus.ACTIVE,
        )
        .order_by(CustomerUser.created_at)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


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

    async def pdf_of(self, contract_id: uuid.UUID) -> bytes | None:
        """The sealed PDF of a contract already read (a deferred column: loaded when asked for)."""
        stmt = select(Contract.pdf).where(Contract.id == contract_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()


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


class MonitoringRepository:
    """Decisions, outcomes and reports for model re-validation (bank-wide: bypass by the caller)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def report(
        self, model_id: str, version: str, run_key: str
    ) -> ModelMonitoringReport | None:
        stmt = select(ModelMonitoringReport).where(
            ModelMonitoringReport.model_id == model_id,
            ModelMonitoringReport.model_version == version,
            ModelMonitoringReport.run_key == run_key,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest(self, run_key: str | None = None) -> ModelMonitoringReport | None:
        """The newest stored report (of that run key, when given)."""
        stmt = select(ModelMonitoringReport).order_by(ModelMonitoringReport.created_at.desc())
        if run_key is not None:
            stmt = stmt.where(ModelMonitoringReport.run_key == run_key)
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def decisions(
        self,
        model_id: str,
        version: str,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[tuple[datetime, str, str, str]]:
        """(decided_at, id, grade, record JSON) of the model's decisions in (start, end]."""
        stmt = (
            select(CreditDecision.decided_at, CreditDecision.id, CreditDecision.grade,
                   CreditDecision.record)
            .where(
                CreditDecision.model_id == model_id,
                CreditDecision.model_version == version,
                CreditDecision.decided_at > start,
                CreditDecision.decided_at <= end,
            )
            .order_by(CreditDecision.decided_at, CreditDecision.id)
            .limit(limit)
        )  # fmt: skip
        if after is not None:
            stmt = stmt.where(
                tuple_(CreditDecision.decided_at, CreditDecision.id)
                > tuple_(after[0], uuid.UUID(after[1]))
            )
        rows = (await self.session.execute(stmt)).all()
        return [(at, str(decision_id), grade, record) for at, decision_id, grade, record in rows]

    async def matured_outcomes(
        self,
        model_id: str,
        version: str,
        start: datetime,
        end: datetime,
        bad_dpd: int,
        bad_classes: frozenset[str],
    ) -> list[tuple[int, str, int]]:
        """(score, grade, 1 bad / 0 good) of the model's decisions in (start, end] whose loan
        has matured by ``end``."""
        bad = or_(Loan.dpd >= bad_dpd, Loan.loan_class.in_(sorted(bad_classes)))
        stmt = (
            select(CreditDecision.score, CreditDecision.grade, Loan.dpd, Loan.loan_class)
            .join(Loan, Loan.application_id == CreditDecision.application_id)
            .where(
                CreditDecision.model_id == model_id,
                CreditDecision.model_version == version,
                CreditDecision.decided_at > start,
                CreditDecision.decided_at <= end,
                Loan.disbursed_at.is_not(None),
                or_(bad, Loan.status == LoanStatus.SETTLED, Loan.maturity_date <= end.date()),
            )
        )
        return [
            (score, grade, int(dpd >= bad_dpd or loan_class in bad_classes))
            for score, grade, dpd, loan_class in (await self.session.execute(stmt)).all()
        ]
