"""Repayments: allocation in the loan's configured order, prepayment, overpayment, auto-debit.

A payment first settles what is due (``puhui.lending.allocation``: overdue oldest first, then
the current instalment). What is left either waits in suspense or prepays principal with the
schedule recalculated. Each repayment posts one balanced entry and, for a revolving product,
gives the repaid principal back to the credit limit.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.errors import Conflict
from puhui.lending.allocation import Bucket, allocate
from puhui.lending.schedules import PrepaymentOption
from puhui.servicing.ledger import credit, debit, post
from puhui.servicing.limits import LimitReleaser
from puhui.servicing.loans import (
    accrue_penalty,
    allocation_policy,
    apply_prepayment,
    classify_loan,
    receivables,
    recognise,
    recognise_due,
    settle_if_repaid,
)
from puhui.servicing.models import AccountType, Loan, LoanStatus, Repayment
from puhui.servicing.repository import LoanRepository

__all__ = ["Overpayment", "receive"]

_PAID = {
    Bucket.PRINCIPAL: "paid_principal",
    Bucket.INTEREST: "paid_interest",
    Bucket.FEES: "paid_fees",
    Bucket.PENALTY: "paid_penalty",
}
_RECEIVABLE = {
    Bucket.PRINCIPAL: AccountType.PRINCIPAL_RECEIVABLE,
    Bucket.INTEREST: AccountType.INTEREST_RECEIVABLE,
    Bucket.FEES: AccountType.FEES_RECEIVABLE,
    Bucket.PENALTY: AccountType.PENALTY_RECEIVABLE,
}


class Overpayment(StrEnum):
    """What happens to money beyond what is due."""

    SUSPENSE = "suspense"  # held for the next instalment or a refund
    PREPAY = "prepay"  # repays principal now; the schedule is recalculated


async def receive(
    session: AsyncSession,
    loan: Loan,
    *,
    amount: int,
    received_on: date,
    idempotency_key: str,
    channel: str,
    overpayment: Overpayment = Overpayment.SUSPENSE,
    option: PrepaymentOption = PrepaymentOption.REDUCE_INSTALMENT,
    releaser: LimitReleaser,
    rail_reference: str | None = None,
) -> Repayment:
    """Apply ``amount`` fen received on ``received_on``; the same key is applied once."""
    loans = LoanRepository(session)
    existing = await loans.repayment_by_key(idempotency_key)
    if existing is not None:
        if existing.loan_id != loan.id or existing.amount != amount:
            raise Conflict("This idempotency key was used for another repayment.")
        return existing
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"A {loan.status} loan takes no repayments.")
    if amount <= 0:
        raise Conflict("A repayment must be a positive amount.")
    lines = list(await loans.lines(loan.id))
    await recognise_due(session, loan, lines, received_on)
    await accrue_penalty(session, loan, lines, received_on)

    owed = receivables(lines)
    if overpayment is Overpayment.PREPAY:
        owed = [r for r in owed if r.due_date <= received_on]  # later ones are prepaid instead
    allocation = allocate(amount, owed, received_on, allocation_policy(loan))
    by_number = {line.number: line for line in lines}
    applied: dict[Bucket, int] = dict.fromkeys(Bucket, 0)
    for part in allocation.lines:
        line = by_number[part.number]
        if part.bucket in (Bucket.INTEREST, Bucket.FEES):
            await recognise(session, loan, line, received_on)
        setattr(line, _PAID[part.bucket], getattr(line, _PAID[part.bucket]) + part.amount)
        applied[part.bucket] += part.amount

    left, prepaid, accrued = allocation.overpayment, 0, 0
    if left and overpayment is Overpayment.PREPAY:
        try:
            outcome = await apply_prepayment(session, loan, lines, received_on, left, option)
        except ValueError:
            pass  # too small to cover accrued interest, or nothing left to prepay: suspense
        else:
            prepaid, accrued, left = (
                outcome.principal_repaid,
                outcome.accrued_interest,
                outcome.overpayment,
            )

    entry = await post(
        session,
        kind="repayment",
        event_key=f"repayment:{idempotency_key}",
        value_date=received_on,
        loan_id=loan.id,
        memo=f"{channel} repayment",
        legs=[
            debit(AccountType.CUSTOMER_SETTLEMENT, amount),
            *(credit(_RECEIVABLE[b], applied[b]) for b in Bucket),
            credit(AccountType.PRINCIPAL_RECEIVABLE, prepaid),
            credit(AccountType.INTEREST_RECEIVABLE, accrued),
            credit(AccountType.SUSPENSE, left),
        ],
    )
    repayment = Repayment(
        id=uuid.uuid4(),
        tenant_id=loan.tenant_id,
        loan_id=loan.id,
        idempotency_key=idempotency_key,
        channel=channel,
        amount=amount,
        received_on=received_on,
        allocated=allocation.allocated,
        prepaid_principal=prepaid,
        to_suspense=left,
        lines=[
            {"number": p.number, "bucket": p.bucket.value, "amount": p.amount}
            for p in allocation.lines
        ],
        journal_entry_id=entry.id,
        rail_reference=rail_reference,
    )
    session.add(repayment)
    # Revolving products: the repaid principal is available on the unified limit again.
    await releaser.release(
        session, loan, applied[Bucket.PRINCIPAL] + prepaid, f"repayment:{repayment.id}"
    )
    await session.flush()
    if await settle_if_repaid(session, loan):
        await releaser.settled(session, loan)
    else:
        classify_loan(loan, await loans.lines(loan.id), received_on)
    return repayment
