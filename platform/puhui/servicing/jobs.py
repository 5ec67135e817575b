"""Daily servicing batch: recognise what fell due, accrue penalty interest, classify, collect.

Each loan is handled in its own unit of work so one bad loan never rolls back the others, and
every posting carries an event key, so running a day twice changes nothing the second time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from puhui.db.session import SessionFactory, tenant_bypass
from puhui.lending.delinquency import DEFAULT_RULES, ClassificationRules
from puhui.servicing.disbursement import PaymentRail
from puhui.servicing.limits import LimitReleaser
from puhui.servicing.loans import accrue_penalty, classify_loan, receivables, recognise_due
from puhui.servicing.repayments import receive
from puhui.servicing.repository import LoanRepository

__all__ = ["CollectionRun", "DailyRun", "active_loans", "collect_due", "run_daily"]


async def active_loans(
    sessions: SessionFactory, batch: int = 500
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, loan) of every active loan, read across tenants for the bank's batch."""
    out: list[tuple[uuid.UUID, uuid.UUID]] = []
    cursor: uuid.UUID | None = None
    async with sessions.unit_of_work() as session:
        with tenant_bypass(session, "servicing.batch.scan"):
            repo = LoanRepository(session)
            while ids := await repo.active_ids(after=cursor, limit=batch):
                for loan_id in ids:
                    out.append(((await repo.get(loan_id)).tenant_id, loan_id))
                cursor = ids[-1]
    return out


@dataclass(frozen=True, slots=True)
class DailyRun:
    loans: int
    penalty_fen: int
    overdue_loans: int


async def run_daily(
    sessions: SessionFactory, as_of: date, rules: ClassificationRules = DEFAULT_RULES
) -> DailyRun:
    """Recognise due instalments, accrue penalty to ``as_of`` and reclassify each active loan."""
    penalty = overdue = 0
    loans = await active_loans(sessions)
    for tenant_id, loan_id in loans:
        async with sessions.unit_of_work(tenant_id) as session:
            repo = LoanRepository(session)
            loan = await repo.get_for_update(loan_id)
            lines = list(await repo.lines(loan_id))
            await recognise_due(session, loan, lines, as_of)
            penalty += await accrue_penalty(session, loan, lines, as_of)
            classify_loan(loan, lines, as_of, rules)
            overdue += loan.dpd > 0
    return DailyRun(len(loans), penalty, overdue)


@dataclass(frozen=True, slots=True)
class CollectionRun:
    attempted: int
    collected_fen: int


async def collect_due(
    sessions: SessionFactory, rail: PaymentRail, as_of: date, releaser: LimitReleaser
) -> CollectionRun:
    """Auto-debit what is due by ``as_of`` from each borrower's settlement account.

    The debit's idempotency key names loan and day, and the repayment reuses it: a crash
    between debit and booking is healed by running again (the rail returns the same debit).
    """
    attempted = collected = 0
    for tenant_id, loan_id in await active_loans(sessions):
        async with sessions.unit_of_work(tenant_id) as session:
            repo = LoanRepository(session)
            loan = await repo.get(loan_id)
            lines = await repo.lines(loan_id)
            due = sum(r.total for r in receivables(lines) if r.due_date <= as_of)
            account = loan.settlement_account
        if due <= 0:
            continue
        attempted += 1
        key = f"autodebit:{loan_id.hex}:{as_of.isoformat()}"
        debit = await rail.auto_debit(key, due, account, f"loan {loan_id} instalment")
        if debit.collected_fen <= 0:
            continue
        async with sessions.unit_of_work(tenant_id) as session:
            loan = await LoanRepository(session).get_for_update(loan_id)
            await receive(
                session,
                loan,
                amount=debit.collected_fen,
                received_on=as_of,
                idempotency_key=key,
                channel="auto_debit",
                releaser=releaser,
                rail_reference=debit.debit_id,
            )
        collected += debit.collected_fen
    return CollectionRun(attempted, collected)
