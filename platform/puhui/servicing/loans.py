"""Loans with persisted schedules: opening from an offer, recognising what falls due, penalty
interest on overdue amounts, prepayment with recalculation, and delinquency classification."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.lending.allocation import AllocationPolicy, Bucket, Receivable
from puhui.lending.apr import credit_cost
from puhui.lending.daycount import DayCount
from puhui.lending.delinquency import (
    DEFAULT_RULES,
    ClassificationRules,
    PenaltyRate,
    classify,
    days_past_due,
    delinquency_bucket,
)
from puhui.lending.schedules import (
    Instalment,
    Prepayment,
    PrepaymentOption,
    RepaymentMethod,
    Schedule,
    build_schedule,
    prepay,
)
from puhui.money import Rate
from puhui.servicing.ledger import credit, debit, post
from puhui.servicing.models import AccountType, Loan, LoanStatus, ScheduleLine
from puhui.servicing.offers import LoanOffer
from puhui.servicing.repository import LoanRepository

__all__ = [
    "accrue_penalty",
    "allocation_policy",
    "apply_prepayment",
    "classify_loan",
    "create_loan",
    "receivables",
    "recognise_due",
    "schedule_in_force",
    "settle_if_repaid",
]


def rate_of(loan: Loan) -> Rate:
    return Rate(Decimal(loan.annual_rate))


def allocation_policy(loan: Loan) -> AllocationPolicy:
    return AllocationPolicy(order=tuple(Bucket(b) for b in loan.allocation_order))


def _lines_from(loan: Loan, version: int, instalments: Sequence[Instalment]) -> list[ScheduleLine]:
    return [
        ScheduleLine(
            tenant_id=loan.tenant_id,
            loan_id=loan.id,
            schedule_version=version,
            number=i.number,
            due_date=i.due_date,
            opening_balance=i.opening_balance,
            closing_balance=i.closing_balance,
            principal=i.principal,
            interest=i.interest,
            fees=i.fees,
        )
        for i in instalments
    ]


async def create_loan(session: AsyncSession, offer: LoanOffer) -> tuple[Loan, Schedule]:
    """A loan awaiting its signature, with schedule version 1 persisted and the APR computed."""
    schedule = build_schedule(offer.terms())
    cost = credit_cost(schedule, offer.upfront_fee)
    loan = Loan(
        id=uuid.uuid4(),
        tenant_id=offer.tenant_id,
        application_id=offer.application_id,
        customer_id=offer.customer_id,
        enterprise_uscc=offer.enterprise_uscc,
        enterprise_name=offer.enterprise_name,
        settlement_account=offer.settlement_account,
        consent_id=offer.consent_id,
        monitoring_consent_until=offer.monitoring_consent_until,
        product_code=offer.product_code,
        product_version=offer.product_version,
        revolving=offer.revolving,
        credit_limit_id=offer.credit_limit_id,
        principal=offer.principal,
        annual_rate=str(offer.annual_rate),
        term_months=offer.term_months,
        method=offer.method.value,
        day_count=offer.day_count.value,
        repayment_day=offer.repayment_day or offer.start_date.day,
        instalment_fee=offer.instalment_fee,
        upfront_fee=offer.upfront_fee,
        penalty_markup=str(offer.penalty_markup),
        allocation_order=[b.value for b in offer.allocation_order],
        start_date=offer.start_date,
        maturity_date=schedule.maturity_date,
        schedule_version=1,
        schedule_principal=schedule.principal,
        schedule_start=schedule.start_date,
        level_amount=schedule.level_amount,
        apr=str(cost.apr),
        status=LoanStatus.AWAITING_SIGNATURE,
        flags=[],
        classification_reasons=[],
    )
    session.add(loan)
    await session.flush()  # no ORM relationships: rows referring to the loan go in after it
    session.add_all(_lines_from(loan, 1, schedule.instalments))
    return loan, schedule


def schedule_in_force(loan: Loan, lines: Sequence[ScheduleLine]) -> Schedule:
    """The pure ``Schedule`` of the version in force, rebuilt from its persisted lines."""
    own = sorted(
        (line for line in lines if line.schedule_version == loan.schedule_version),
        key=lambda line: line.number,
    )
    return Schedule(
        principal=loan.schedule_principal,
        rate=rate_of(loan),
        start_date=loan.schedule_start,
        day_count=DayCount(loan.day_count),
        method=RepaymentMethod(loan.method),
        level_amount=loan.level_amount,
        instalment_fee=loan.instalment_fee,
        instalments=tuple(
            Instalment(
                line.number,
                line.due_date,
                line.principal,
                line.interest,
                line.fees,
                line.principal + line.interest + line.fees,
                line.opening_balance,
                line.closing_balance,
            )
            for line in own
        ),
    )


def receivables(lines: Sequence[ScheduleLine]) -> list[Receivable]:
    """What is still owed on each line in force, by bucket."""
    return [
        Receivable(
            line.number,
            line.due_date,
            line.principal - line.paid_principal,
            line.interest - line.paid_interest,
            line.fees - line.paid_fees,
            line.penalty - line.paid_penalty,
        )
        for line in lines
    ]


async def recognise(session: AsyncSession, loan: Loan, line: ScheduleLine, on: date) -> None:
    """Interest and fees of ``line`` become receivable and income (once per line)."""
    if line.recognised:
        return
    line.recognised = True
    if line.interest + line.fees == 0:
        return
    await post(
        session,
        kind="recognition",
        event_key=f"recognise:{line.id}",
        value_date=on,
        loan_id=loan.id,
        memo=f"instalment {line.number} interest and fees due",
        legs=[
            debit(AccountType.INTEREST_RECEIVABLE, line.interest),
            credit(AccountType.INTEREST_INCOME, line.interest),
            debit(AccountType.FEES_RECEIVABLE, line.fees),
            credit(AccountType.FEE_INCOME, line.fees),
        ],
    )


async def recognise_due(
    session: AsyncSession, loan: Loan, lines: Sequence[ScheduleLine], as_of: date
) -> None:
    for line in lines:
        if line.due_date <= as_of:
            await recognise(session, loan, line, line.due_date)


async def accrue_penalty(
    session: AsyncSession, loan: Loan, lines: Sequence[ScheduleLine], as_of: date
) -> int:
    """Penalty interest for every whole overdue day before ``as_of`` not yet accrued.

    Overdue principal and interest bear the contract rate marked up (PBoC: 罚息 = rate x 1.5
    by default); each day's amount comes from ``PenaltyRate.for_day`` so daily runs add up.
    """
    penalty = PenaltyRate(markup=Decimal(loan.penalty_markup))
    contract = rate_of(loan)
    first = (
        loan.penalty_accrued_through + timedelta(days=1)
        if loan.penalty_accrued_through
        else loan.start_date
    )
    last = as_of - timedelta(days=1)
    total = 0
    if first <= last:
        for line in lines:
            overdue = (line.principal - line.paid_principal) + (line.interest - line.paid_interest)
            if overdue <= 0 or line.due_date > last:
                continue
            day = max(first, line.due_date)
            amount = 0
            while day <= last:
                amount += penalty.for_day(overdue, contract, line.due_date, day)
                day += timedelta(days=1)
            line.penalty += amount
            total += amount
        loan.penalty_accrued_through = last
    if total:
        await post(
            session,
            kind="penalty",
            event_key=f"penalty:{loan.id}:{first.isoformat()}:{last.isoformat()}",
            value_date=last,
            loan_id=loan.id,
            memo=f"penalty interest {first.isoformat()}..{last.isoformat()}",
            legs=[
                debit(AccountType.PENALTY_RECEIVABLE, total),
                credit(AccountType.PENALTY_INCOME, total),
            ],
        )
    return total


def classify_loan(
    loan: Loan,
    lines: Sequence[ScheduleLine],
    as_of: date,
    rules: ClassificationRules = DEFAULT_RULES,
) -> None:
    """Days past due, bucket and five-category class on ``as_of`` (rules are configurable)."""
    dpd = days_past_due(receivables(lines), as_of)
    outcome = classify(dpd, loan.flags, rules)
    loan.dpd = dpd
    loan.bucket = delinquency_bucket(dpd).value
    loan.loan_class = outcome.loan_class.value
    loan.classification_reasons = list(outcome.reasons)


async def apply_prepayment(
    session: AsyncSession,
    loan: Loan,
    lines: Sequence[ScheduleLine],
    on: date,
    amount: int,
    option: PrepaymentOption,
) -> Prepayment:
    """Recalculate the schedule after a prepayment on ``on`` (nothing due by then may be owed).

    The lines still to come are superseded by the recalculated ones (a new schedule version);
    the caller posts the cash. Interest accrued since the last due date is recognised here.
    """
    if any(r.total for r in receivables(lines) if r.due_date <= on):
        raise ValueError("settle what is due before prepaying")
    outcome = prepay(schedule_in_force(loan, lines), on, amount, option)
    for line in lines:
        if line.due_date > on:
            line.superseded = True
    loan.schedule_version += 1
    loan.schedule_principal = outcome.schedule.principal
    loan.schedule_start = on
    loan.level_amount = outcome.schedule.level_amount
    if outcome.schedule.instalments:
        loan.maturity_date = outcome.schedule.maturity_date
    session.add_all(_lines_from(loan, loan.schedule_version, outcome.schedule.instalments))
    if outcome.accrued_interest:
        await post(
            session,
            kind="recognition",
            event_key=f"accrued:{loan.id}:{loan.schedule_version}",
            value_date=on,
            loan_id=loan.id,
            memo="interest accrued to the prepayment date",
            legs=[
                debit(AccountType.INTEREST_RECEIVABLE, outcome.accrued_interest),
                credit(AccountType.INTEREST_INCOME, outcome.accrued_interest),
            ],
        )
    await session.flush()
    return outcome


async def settle_if_repaid(session: AsyncSession, loan: Loan) -> bool:
    """Mark the loan settled once nothing is owed on any line in force."""
    lines = await LoanRepository(session).lines(loan.id)
    if any(r.total for r in receivables(lines)):
        return False
    loan.status = LoanStatus.SETTLED
    loan.settled_at = utcnow()
    loan.dpd = 0
    loan.bucket = "M0"
    return True
