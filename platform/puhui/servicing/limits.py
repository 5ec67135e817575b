"""Releasing the unified credit limit when a revolving loan's principal is repaid.

``LimitReleaser`` is the seam to the lending domain's ``CreditLimit``; until that model exists
the platform wires ``AuditedLimitRelease``, which records each release in the audit trail so
the limit holder's balance can be rebuilt from it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.servicing.models import Loan

__all__ = ["AuditedLimitRelease", "LimitReleaser"]


class LimitReleaser(Protocol):
    """Gives ``amount`` fen of repaid principal back to the loan's credit limit."""

    async def release(self, session: AsyncSession, loan: Loan, amount: int) -> None: ...


class AuditedLimitRelease:
    """Records the release against the loan's limit id in the audit trail."""

    async def release(self, session: AsyncSession, loan: Loan, amount: int) -> None:
        if amount <= 0 or not loan.revolving:
            return
        record_event(
            session,
            "credit_limit.release",
            actor_tenant_id=loan.tenant_id,
            target_tenant_id=loan.tenant_id,
            target=f"credit_limit:{loan.credit_limit_id}",
            details={"loan_id": str(loan.id), "amount_fen": amount},
        )
