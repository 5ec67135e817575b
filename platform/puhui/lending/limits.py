"""The unified credit limit for loan servicing: occupy on disbursement, release on repayment.

This is the stable, public API other domains call (JR/T 0269 9.3.1); the umbrella itself lives in
:mod:`puhui.risk.limits` and is persisted by :class:`puhui.risk.service.CreditLimitService`.

    from puhui.lending import limits

    await limits.occupy(session, uscc=loan.enterprise_uscc, product_code=loan.product_code,
                        amount_fen=principal, reason="disbursement", ref=f"loan:{loan.id}")
    await limits.release(session, limit_id=loan.credit_limit_id, product_code=loan.product_code,
                         amount_fen=repaid, reason="repayment", ref=f"repayment:{payment.id}")

Name the limit by ``limit_id`` or by the enterprise's ``uscc`` (exactly one). Each call is
idempotent on ``ref``: the same ref and amount again changes nothing and answers
``applied=False``; the same ref with another amount is a 409. An approval already occupies the
approved amount under ``ref=str(application_id)``, so a disbursement that passes the application
id as its ref is a no-op for the limit. Errors are problems (:mod:`puhui.errors`): 404 without a
limit, 409 for over-crediting, a frozen/expired limit or a release above what is occupied, 422 for
a malformed ref. The functions never commit: the caller's unit of work does.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.risk.limits import ReleaseCause
from puhui.risk.models import CustomerCreditLimit
from puhui.risk.service import CreditLimitService, limit_position

__all__ = ["LimitPosition", "ReleaseCause", "occupy", "position", "release"]


class LimitPosition(msgspec.Struct, frozen=True, kw_only=True):
    """Where a unified limit stands after a call, and whether this call changed it."""

    limit_id: uuid.UUID
    uscc: str
    state: str
    total_fen: int
    exposure_fen: int
    available_fen: int
    applied: bool = False


def _position(row: CustomerCreditLimit, applied: bool) -> LimitPosition:
    state, total, exposure, available = limit_position(row)
    return LimitPosition(
        limit_id=row.id,
        uscc=row.uscc,
        state=state,
        total_fen=total,
        exposure_fen=exposure,
        available_fen=available,
        applied=applied,
    )


async def position(
    session: AsyncSession, *, limit_id: uuid.UUID | None = None, uscc: str | None = None
) -> LimitPosition:
    """The limit's current state, total, exposure and availability."""
    row = await CreditLimitService(session).find(limit_id=limit_id, uscc=uscc)
    return _position(row, applied=False)


async def occupy(
    session: AsyncSession,
    *,
    product_code: str,
    amount_fen: int,
    reason: str,
    ref: str,
    limit_id: uuid.UUID | None = None,
    uscc: str | None = None,
    partner_tenant_id: uuid.UUID | None = None,
) -> LimitPosition:
    """Occupy `amount_fen` of the product's sub-limit and the umbrella; idempotent on `ref`."""
    service = CreditLimitService(session)
    row = await service.find(limit_id=limit_id, uscc=uscc)
    applied = await service.occupy(
        row,
        product_code,
        amount_fen,
        reference=ref,
        reason=reason,
        partner_tenant_id=partner_tenant_id,
    )
    if applied:
        _audit(session, "credit_limit.occupied", row, product_code, amount_fen, ref, reason)
    return _position(row, applied)


async def release(
    session: AsyncSession,
    *,
    product_code: str,
    amount_fen: int,
    reason: str,
    ref: str,
    limit_id: uuid.UUID | None = None,
    uscc: str | None = None,
    cause: ReleaseCause = ReleaseCause.REPAYMENT,
    partner_tenant_id: uuid.UUID | None = None,
) -> LimitPosition:
    """Give back occupied limit; idempotent on `ref`.

    ``cause=repayment`` lowers the outstanding amount (a revolving limit becomes available
    again); ``cause=settlement`` lowers the approved amount too (a loan settled or cancelled).
    """
    service = CreditLimitService(session)
    row = await service.find(limit_id=limit_id, uscc=uscc)
    applied = await service.release(
        row,
        product_code,
        amount_fen,
        cause=cause,
        reference=ref,
        reason=reason,
        partner_tenant_id=partner_tenant_id,
    )
    if applied:
        _audit(session, "credit_limit.released", row, product_code, amount_fen, ref, reason)
    return _position(row, applied)


def _audit(
    session: AsyncSession,
    action: str,
    row: CustomerCreditLimit,
    product_code: str,
    amount_fen: int,
    ref: str,
    reason: str,
) -> None:
    record_event(
        session,
        action,
        target=f"credit_limit:{row.id}",
        reason=reason or None,
        details={"uscc": row.uscc, "product": product_code, "amount_fen": amount_fen, "ref": ref},
    )
