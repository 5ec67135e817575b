"""The loan's side of the unified credit limit (JR/T 0269 9.3.1), through ``puhui.lending.limits``.

A loan opened for an enterprise that holds a unified limit names it (``credit_limit_id``). The
disbursement occupies the principal before any money moves (an approval already occupied it
under the application's id, so that occupation is found and not repeated); a refused transfer
gives it back. A revolving product's repaid principal becomes available again on each repayment;
any other loan gives its limit back when it is settled. Every call is idempotent on its ref.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.errors import Conflict, NotFound
from puhui.lending import limits
from puhui.risk.service import CreditLimitService
from puhui.servicing.models import Loan

__all__ = [
    "LimitReleaser",
    "UnifiedLimit",
    "freeze_limit",
    "limit_of",
    "occupy_for_disbursement",
    "release_refused_disbursement",
]


class LimitReleaser(Protocol):
    """Gives ``amount`` fen of repaid principal back to the loan's credit limit, once per ref."""

    async def release(self, session: AsyncSession, loan: Loan, amount: int, ref: str) -> None: ...

    async def settled(self, session: AsyncSession, loan: Loan) -> None: ...


async def limit_of(session: AsyncSession, uscc: str) -> uuid.UUID | None:
    """The enterprise's unified limit, if the bank has granted one."""
    try:
        return (await limits.position(session, uscc=uscc)).limit_id
    except NotFound:
        return None


def _disbursement_ref(loan: Loan) -> str:
    # The approval occupied the approved amount under the application's id: the same ref here
    # makes the disbursement's occupation that one, not a second.
    return str(loan.application_id) if loan.application_id else f"loan:{loan.id}"


async def occupy_for_disbursement(session: AsyncSession, loan: Loan) -> None:
    """Occupy the principal on the loan's limit (409 when frozen, expired or over-credited)."""
    if loan.credit_limit_id is None:
        return
    await limits.occupy(
        session,
        limit_id=loan.credit_limit_id,
        product_code=loan.product_code,
        amount_fen=loan.principal,
        reason="disbursement",
        ref=_disbursement_ref(loan),
        partner_tenant_id=loan.tenant_id,
    )


async def release_refused_disbursement(session: AsyncSession, loan: Loan) -> None:
    """The core bank refused the transfer: nothing was lent, the occupation goes back."""
    if loan.credit_limit_id is None:
        return
    await limits.release(
        session,
        limit_id=loan.credit_limit_id,
        product_code=loan.product_code,
        amount_fen=loan.principal,
        reason="disbursement refused",
        ref=f"refused:{loan.id}",
        cause=limits.ReleaseCause.SETTLEMENT,
        partner_tenant_id=loan.tenant_id,
    )


async def freeze_limit(session: AsyncSession, loan: Loan, reason: str) -> bool:
    """An early warning stops new drawings on the enterprise's unified limit (JR/T 0269 9.5);
    repayments still release. False when there is no limit or it is not active (already frozen)."""
    if loan.credit_limit_id is None:
        return False
    try:
        await CreditLimitService(session).freeze(loan.enterprise_uscc, reason[:200])
    except (Conflict, NotFound):
        return False
    return True


class UnifiedLimit:
    """The ``LimitReleaser`` on the lending domain's unified limit."""

    async def release(self, session: AsyncSession, loan: Loan, amount: int, ref: str) -> None:
        if amount <= 0 or not loan.revolving or loan.credit_limit_id is None:
            return
        await limits.release(
            session,
            limit_id=loan.credit_limit_id,
            product_code=loan.product_code,
            amount_fen=amount,
            reason="principal repaid",
            ref=ref,
            cause=limits.ReleaseCause.REPAYMENT,
            partner_tenant_id=loan.tenant_id,
        )

    async def settled(self, session: AsyncSession, loan: Loan) -> None:
        """A settled non-revolving loan gives its whole occupation back."""
        if loan.revolving or loan.credit_limit_id is None:
            return
        await limits.release(
            session,
            limit_id=loan.credit_limit_id,
            product_code=loan.product_code,
            amount_fen=loan.principal,
            reason="loan settled",
            ref=f"settled:{loan.id}",
            cause=limits.ReleaseCause.SETTLEMENT,
            partner_tenant_id=loan.tenant_id,
        )
