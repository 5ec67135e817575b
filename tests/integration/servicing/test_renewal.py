"""Renewal pre-assessment: a resumable, repeatable batch re-deciding loans near maturity."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.builders import member_client
from tests.lending_builders import create_products, lending_ready, new_uscc, store_features
from tests.servicing_builders import CoreBankServer, active_sandbox_loan

from puhui.clock import FrozenClock, set_clock, utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.lending.service import scenario_features
from puhui.risk.inputs import StoredFeatures
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry, RuleSetRegistry
from puhui.servicing.models import RenewalOffer
from puhui.servicing.renewal import (
    _MATURING,
    RenewalCandidate,
    RenewalPolicy,
    ScenarioRenewalInputs,
    run_renewals,
)

pytestmark = pytest.mark.anyio

FEATURES: dict[str, int | Decimal | str | None] = {
    "tax.revenue_trend_12m": Decimal("0.12"),
    "tax.revenue_volatility_12m": Decimal("0.2"),
    "tax.declared_revenue_12m_fen": 900_000_000,
    "tax.credit_grade": "A",
    "tax.arrears_outstanding_fen": 0,
    "payroll.headcount_change_12m": Decimal("0.05"),
    "payroll.gross_pay_12m_fen": 120_000_000,
    "utilities.arrears_count": 0,
    "utilities.electricity_stability_12m": Decimal("0.9"),
    "procurement.payer_concentration_12m": Decimal("0.3"),
    "procurement.award_value_12m_fen": 300_000_000,
}


async def _sandbox_policy(sessions: SessionFactory) -> RenewalPolicy:
    """The rule set and model in force, with the sandbox limit policy."""
    async with sessions.unit_of_work() as session:
        return RenewalPolicy(
            ruleset=await RuleSetRegistry(session).in_force(utcnow()),
            scorer=await ModelRegistry(session).active_scorer(),
            limit_policy=SANDBOX_LIMIT_POLICY,
        )


async def test_renewal_run_resumes_and_is_safe_to_repeat(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    await lending_ready(app)
    product = (await create_products(app, ["sandbox"]))[0]
    _, tenant, _ = await member_client(app, ("owner",))
    loans = []
    for _ in range(5):
        uscc = new_uscc()
        await store_features(app, uscc, dict(FEATURES))
        loans.append(
            await active_sandbox_loan(
                app,
                tenant,
                corebank.url,
                enterprise_uscc=uscc,
                product_code=product.code,
                term_months=6,
                start_date=date(2027, 2, 3),
            )
        )
    sessions = app.state.db
    policy = await _sandbox_policy(sessions)
    inputs = ScenarioRenewalInputs(scenario_features)
    key = f"test-{tenant.id.hex[:12]}"
    run = dict(as_of=date(2027, 7, 20), days_before=30, run_key=key, batch=2)

    interrupted = await run_renewals(sessions, inputs, policy, stop_after=1, **run)  # type: ignore[arg-type]
    resumed = await run_renewals(sessions, inputs, policy, **run)  # type: ignore[arg-type]
    repeated = await run_renewals(sessions, inputs, policy, **run)  # type: ignore[arg-type]

    async with sessions.unit_of_work() as session:
        with tenant_bypass(session, "test"):
            offers = (
                (await session.execute(select(RenewalOffer).where(RenewalOffer.run_key == key)))
                .scalars()
                .all()
            )
    mine = {o.loan_id: o for o in offers if o.loan_id in {loan.id for loan in loans}}
    assert set(mine) == {loan.id for loan in loans}  # every loan assessed exactly once
    assert len(offers) == len({o.loan_id for o in offers})
    assert resumed.resumed_from is not None  # the second run picked up from the checkpoint
    assert sum(interrupted.offers.values()) + sum(resumed.offers.values()) == len(offers)
    assert sum(repeated.offers.values()) == 0
    for offer in mine.values():
        assert offer.kind in {"renewal", "extension", "limit_raise", "referral"}
        assert len(offer.decision_hash) == 64
        assert offer.grade


async def test_batches_walk_the_loans_by_primary_key_on_sqlite(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    """Without statistics SQLite would take the status index, then join and group every active
    loan past the cursor for each batch: a run quadratic in its size (100,000 loans ran at half
    speed). The batch query must walk the primary key from the cursor and stop at the batch."""
    if not app.state.settings.is_sqlite:
        pytest.skip("PostgreSQL plans from statistics; this is SQLite's planner without them")
    async with app.state.db.unit_of_work() as session:
        connection = await session.connection()
        compiled = _MATURING.compile(dialect=connection.dialect)
        assert compiled.positiontup is not None
        rows = await connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(None for _ in compiled.positiontup)
        )
        plan = [str(row[-1]) for row in rows]
    assert any(re.fullmatch(r"SEARCH loans USING \w+(?: \w+)* \(id>\?\)", step) for step in plan), (
        plan
    )
    assert not any("TEMP B-TREE" in step for step in plan), plan


async def test_batch_feature_reads_decide_as_the_per_loan_reads(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    """The run's one read per batch (``prefetch``) gives every loan the offer, amount, grade and
    decision record the per-loan read gives it, missing data included."""
    await lending_ready(app)
    product = (await create_products(app, ["sandbox"]))[0]
    _, tenant, _ = await member_client(app, ("owner",))
    grades = ["A", "B", "M", "D", None]
    loans = []
    for i, grade in enumerate([*grades, "A"]):
        uscc = new_uscc()
        if i < len(grades):  # the last borrower has no features at all
            features = dict(FEATURES)
            features["tax.credit_grade"] = grade
            features["tax.declared_revenue_12m_fen"] = 150_000_000 * (i + 1)
            features["utilities.arrears_count"] = i % 3
            await store_features(app, uscc, features, data_as_of=utcnow() - timedelta(days=i))
        loans.append(
            await active_sandbox_loan(
                app, tenant, corebank.url, enterprise_uscc=uscc, product_code=product.code,
                term_months=6, start_date=date(2027, 2, 3),
            )
        )  # fmt: skip
    sessions = app.state.db
    policy = await _sandbox_policy(sessions)
    batched = ScenarioRenewalInputs(scenario_features)
    per_loan_reads: list[str] = []

    async def read_one(session: AsyncSession, uscc: str) -> StoredFeatures | None:
        per_loan_reads.append(uscc)
        return await scenario_features(session, uscc)

    one_by_one = ScenarioRenewalInputs(read_one)  # no batch counterpart: read loan by loan
    key = f"batch-{tenant.id.hex[:12]}"
    frozen = FrozenClock(utcnow())
    previous = set_clock(frozen)
    try:
        runs = [
            await run_renewals(
                sessions, inputs, policy, as_of=date(2027, 7, 20), days_before=30,
                run_key=f"{key}-{label}", batch=4,
            )
            for label, inputs in (("batch", batched), ("single", one_by_one))
        ]  # fmt: skip
    finally:
        set_clock(previous)
    assert runs[0].offers == runs[1].offers
    assert runs[0].skipped_no_data == runs[1].skipped_no_data
    mine = {loan.enterprise_uscc for loan in loans}
    assert mine <= set(per_loan_reads)  # the per-loan run really read loan by loan
    async with sessions.unit_of_work() as session:
        with tenant_bypass(session, "test"):
            offers = (
                await session.scalars(
                    select(RenewalOffer).where(
                        RenewalOffer.run_key.in_([f"{key}-batch", f"{key}-single"])
                    )
                )
            ).all()
    by_run: dict[str, dict[object, tuple[object, ...]]] = {}
    for o in offers:
        if o.loan_id in {loan.id for loan in loans}:
            by_run.setdefault(o.run_key, {})[o.loan_id] = (
                o.kind, o.amount, o.annual_rate, o.term_months, o.grade, o.decision_hash, o.reasons,
            )  # fmt: skip
    assert len(by_run[f"{key}-batch"]) == len(loans) - 1  # the borrower without data is skipped
    assert by_run[f"{key}-batch"] == by_run[f"{key}-single"]
    assert len({v[5] for v in by_run[f"{key}-batch"].values()}) == len(loans) - 1
    assert len({v[4] for v in by_run[f"{key}-batch"].values()}) > 1  # the borrowers differ


async def test_prefetched_features_serve_only_their_batch(app: Litestar) -> None:
    """Outside the session that prefetched them, features are read afresh, never from a cache."""
    uscc = new_uscc()
    await store_features(app, uscc, dict(FEATURES))
    inputs = ScenarioRenewalInputs()
    candidate = RenewalCandidate(
        uuid.uuid4(), uuid.uuid4(), uscc, "P", 6, 100_000_00, 0, "normal", 100_000_00, 0
    )
    at = utcnow()
    async with app.state.db.unit_of_work() as session:
        await inputs.prefetch(session, [candidate], at)
        prefetched = await inputs.inputs_for(session, candidate, at)
    changed = dict(FEATURES)
    changed["tax.credit_grade"] = "D"
    await store_features(app, uscc, changed)
    async with app.state.db.unit_of_work() as session:
        fresh = await inputs.inputs_for(session, candidate, at)
    assert prefetched is not None
    assert fresh is not None
    assert prefetched[0].facts.tax_credit_grade == "A"
    assert fresh[0].facts.tax_credit_grade == "D"
