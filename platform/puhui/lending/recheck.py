"""Automatic limit re-check when new scenario data arrives (JR/T 0269 9.3.1).

A unified limit remembers when the limit model last ran on the customer's data (``checked_at``).
When the scenario store holds features computed after that, the re-check runs the model again
on the stored features, for every product the customer has a sub-limit under (each at its
longest term: the terms of future loans are unknown), and applies the limit rules:

1. past its expiry → ``expired``;
2. no capacity left (the grade is declined, or no product reaches its minimum) → ``frozen``;
3. capacity below what is already occupied → the umbrella falls to the exposure (nothing more
   is available) and the limit is ``frozen`` for a person to look at;
4. otherwise the umbrella and each sub-limit move to the new capacity (``adjusted``), never
   below what a product already occupies.

A re-check never unfreezes: a freeze may come from an operator or an early warning, so lifting
it stays a person's decision. Every change is a limit event and an audit record; a limit whose
data did not change since ``checked_at`` is not touched, so running the job twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import SessionFactory
from puhui.errors import NotFound
from puhui.lending.products import ProductSpec, to_decision_product
from puhui.lending.service import ProductCatalogue
from puhui.risk.inputs import (
    StoredFeatures,
    repayment_capacity,
    scorecard_features,
    stored_features,
)
from puhui.risk.limits import CreditLimit, LimitError, LimitState, assess_limit
from puhui.risk.models import CustomerCreditLimit
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry
from puhui.risk.repository import CreditLimitRepository
from puhui.risk.service import CreditLimitService, to_domain, umbrella_capacity
from puhui.scenario.featurestore import latest_features

__all__ = ["RecheckOutcome", "RecheckResult", "recheck_due", "recheck_limit"]

BATCH: Final = 50


class RecheckOutcome(StrEnum):
    UNCHANGED = "unchanged"
    ADJUSTED = "adjusted"
    FROZEN = "frozen"
    EXPIRED = "expired"


class RecheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one re-check found and did."""

    uscc: str
    outcome: RecheckOutcome
    grade: str | None
    capacity_fen: int
    total_fen: int
    reason: str


async def recheck_limit(
    session: AsyncSession, row: CustomerCreditLimit, at: datetime | None = None
) -> RecheckResult:
    """Re-run the limit model for one customer and apply the limit rules; see the module doc."""
    now = at or utcnow()
    service = CreditLimitService(session)
    limit = to_domain(row)
    found = await latest_features(session, row.uscc)
    newest = max((f.computed_at for f in found.values.values()), default=now)
    row.checked_at = max(newest, row.checked_at or newest)

    if now >= limit.expires_at and limit.state in {LimitState.ACTIVE, LimitState.FROZEN}:
        service.apply(row, *limit.expire(at=now))
        return _done(session, row, RecheckOutcome.EXPIRED, None, 0, "LIMIT_RECHECK_EXPIRED")

    values = {name: feature.value for name, feature in found.values.items()}
    stored = stored_features(values, found.staleness_by_source, now)
    scored = (await ModelRegistry(session).active_scorer()).score(scorecard_features(stored))
    catalogue = ProductCatalogue(session)
    capacities: dict[str, int] = {}
    for sub in limit.sub_limits:
        spec = await _current(catalogue, sub.product_code, now)
        capacities[sub.product_code] = 0 if spec is None else _capacity(spec, stored, scored.grade)
    capacity = max(capacities.values(), default=0)

    if capacity == 0:
        return _freeze(session, service, row, limit, scored.grade, "LIMIT_RECHECK_NO_CAPACITY")
    if capacity < limit.exposure_fen:
        code = "LIMIT_RECHECK_BELOW_EXPOSURE"
        adjusted = _adjust(service, row, limit, limit.exposure_fen, capacities, "BELOW_EXPOSURE")
        return _freeze(session, service, row, adjusted, scored.grade, code)
    caps = _caps(limit, capacity, capacities)
    current = {sub.product_code: sub.limit_fen for sub in limit.sub_limits}
    if capacity == limit.total_fen and caps == current:
        return _done(session, row, RecheckOutcome.UNCHANGED, scored.grade, capacity, "")
    code = "LIMIT_RECHECK_RAISED" if capacity > limit.total_fen else "LIMIT_RECHECK_LOWERED"
    _adjust(service, row, limit, capacity, capacities, code.removeprefix("LIMIT_RECHECK_"))
    return _done(session, row, RecheckOutcome.ADJUSTED, scored.grade, capacity, code)


async def _current(catalogue: ProductCatalogue, code: str, at: datetime) -> ProductSpec | None:
    try:
        return await catalogue.current(code, at)
    except NotFound:  # withdrawn from the catalogue: no new capacity under it
        return None


def _capacity(spec: ProductSpec, stored: StoredFeatures, grade: str) -> int:
    """The umbrella this product's limit model supports for the grade; 0 if it declines."""
    rate = spec.pricing.get(grade)
    if rate is None or grade in spec.routing.decline_grades:
        return 0
    assessment = assess_limit(
        repayment_capacity(stored, spec.mitigations),
        grade=grade,
        annual_rate=rate,
        bounds=to_decision_product(spec).bounds,
        policy=SANDBOX_LIMIT_POLICY,
    )
    return umbrella_capacity(assessment)


def _caps(limit: CreditLimit, total: int, capacities: dict[str, int]) -> dict[str, int]:
    """Each product's new cap: its capacity within the umbrella, never below its exposure."""
    return {
        sub.product_code: max(
            sub.exposure(limit.basis), min(capacities.get(sub.product_code, 0), total)
        )
        for sub in limit.sub_limits
    }


def _adjust(
    service: CreditLimitService,
    row: CustomerCreditLimit,
    limit: CreditLimit,
    total: int,
    capacities: dict[str, int],
    why: str,
) -> CreditLimit:
    reason = f"LIMIT_RECHECK_{why}: new data, limit model re-run"
    adjusted, event = limit.adjust(
        total_fen=total, sub_limits=_caps(limit, total, capacities), reason=reason
    )
    return service.apply(row, adjusted, event)


def _freeze(
    session: AsyncSession,
    service: CreditLimitService,
    row: CustomerCreditLimit,
    limit: CreditLimit,
    grade: str,
    code: str,
) -> RecheckResult:
    if limit.state is LimitState.ACTIVE:
        service.apply(row, *limit.freeze(f"{code}: new data, limit model re-run"))
    return _done(session, row, RecheckOutcome.FROZEN, grade, 0, code)


def _done(
    session: AsyncSession,
    row: CustomerCreditLimit,
    outcome: RecheckOutcome,
    grade: str | None,
    capacity: int,
    reason: str,
) -> RecheckResult:
    result = RecheckResult(
        uscc=row.uscc,
        outcome=outcome,
        grade=grade,
        capacity_fen=capacity,
        total_fen=row.total_fen,
        reason=reason,
    )
    if outcome is not RecheckOutcome.UNCHANGED:
        record_event(
            session,
            "credit_limit.rechecked",
            target=f"credit_limit:{row.id}",
            reason=reason,
            details=msgspec.to_builtins(result),
        )
    return result


async def recheck_due(
    db: SessionFactory,
    *,
    batch: int = BATCH,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Re-check every limit with newer data, committing per batch; returns how many it checked.

    A limit the model cannot re-check (a limit error) keeps its position but its check time
    moves on, so one bad limit never blocks the rest; the error is in its audit record.
    """
    done = 0
    while True:
        async with db.unit_of_work() as session:
            rows = await CreditLimitRepository(session).due_for_recheck(batch)
            for row in rows:
                limit_id = row.id
                try:
                    async with session.begin_nested():
                        await recheck_limit(session, row)
                except LimitError as exc:  # the savepoint is undone: mark it checked, say why
                    await CreditLimitRepository(session).mark_checked(limit_id, utcnow())
                    record_event(
                        session,
                        "credit_limit.rechecked",
                        outcome="failure",
                        target=f"credit_limit:{limit_id}",
                        reason=str(exc)[:500],
                    )
        done += len(rows)
        if progress is not None:
            progress(done, None)
        if len(rows) < batch:
            return done
