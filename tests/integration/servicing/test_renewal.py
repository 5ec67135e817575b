"""Renewal pre-assessment: a resumable, repeatable batch re-deciding loans near maturity."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import member_client
from tests.lending_builders import create_products, lending_ready, new_uscc, store_features
from tests.servicing_builders import CoreBankServer, active_sandbox_loan

from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.lending.service import scenario_features
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry, RuleSetRegistry
from puhui.servicing.models import RenewalOffer
from puhui.servicing.renewal import (
    _MATURING,
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
    async with sessions.unit_of_work() as session:
        policy = RenewalPolicy(
            ruleset=await RuleSetRegistry(session).in_force(utcnow()),
            scorer=await ModelRegistry(session).active_scorer(),
            limit_policy=SANDBOX_LIMIT_POLICY,
        )
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
