"""Scheduled lending jobs: limit re-check on new data, offer and application expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, update
from tests.builders import create_tenant
from tests.lending_builders import (
    HEALTHY,
    application_body,
    consented_caller,
    lending_partner,
    new_uscc,
    store_features,
)

from puhui.audit.models import AuditRecord
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.jobs import JobContext, run_job
from puhui.lending import recheck
from puhui.lending.expiry import expire_applications, expire_offers
from puhui.lending.models import Application, Offer
from puhui.lending.products import ProductSpec, to_decision_product
from puhui.lending.recheck import recheck_due
from puhui.lending.service import scenario_features
from puhui.risk.inputs import repayment_capacity, scorecard_features
from puhui.risk.limits import LimitError, assess_limit
from puhui.risk.models import CreditLimitEventRow, CustomerCreditLimit
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry
from puhui.risk.repository import CreditLimitRepository
from puhui.risk.service import CreditLimitService, umbrella_capacity
from puhui.webhooks.models import PartnerEvent

pytestmark = pytest.mark.anyio


def ctx(app: Litestar) -> JobContext:
    return JobContext(settings=app.state.settings, db=app.state.db, redis=app.state.redis)


async def limit_with(app: Litestar, product: ProductSpec, total: int, used: int) -> str:
    tenant = await create_tenant(app)
    uscc = new_uscc()
    async with app.state.db.unit_of_work() as session:
        await CreditLimitService(session).occupy_for_approval(
            uscc, product.code, total, used, partner_tenant_id=tenant.id, reference="approval"
        )
    return uscc


async def capacity_on_stored_data(app: Litestar, uscc: str, product: ProductSpec) -> int:
    """The umbrella the limit model gives on the enterprise's stored features."""
    async with app.state.db.unit_of_work() as session:
        stored = await scenario_features(session, uscc)
        scorer = await ModelRegistry(session).active_scorer()
    assert stored is not None
    grade = scorer.score(scorecard_features(stored)).grade
    return umbrella_capacity(
        assess_limit(
            repayment_capacity(stored, product.mitigations),
            grade=grade,
            annual_rate=product.pricing[grade],
            bounds=to_decision_product(product).bounds,
            policy=SANDBOX_LIMIT_POLICY,
        )
    )


async def state_of(app: Litestar, uscc: str) -> tuple[CustomerCreditLimit, list[tuple[str, str]]]:
    async with app.state.db.unit_of_work() as session:
        row = await CreditLimitRepository(session).by_uscc(uscc)
        assert row is not None
        events = await session.execute(
            select(CreditLimitEventRow.kind, CreditLimitEventRow.reason)
            .where(CreditLimitEventRow.limit_id == row.id)
            .order_by(CreditLimitEventRow.at, CreditLimitEventRow.created_at)
        )
        return row, [(k, r) for k, r in events]


async def due(app: Litestar, uscc: str) -> bool:
    async with app.state.db.unit_of_work() as session:
        rows = await CreditLimitRepository(session).due_for_recheck(10_000)
    return uscc in {row.uscc for row in rows}


class TestLimitRecheck:
    async def test_new_data_adjusts_the_limit_once(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        tax = products[0]
        uscc = await limit_with(app, tax, total=50_000_00, used=10_000_00)
        assert not await due(app, uscc), "a fresh grant was just checked"
        await store_features(app, uscc, HEALTHY)
        assert await due(app, uscc)
        expected = await capacity_on_stored_data(app, uscc, tax)
        assert expected > 50_000_00

        result = await run_job("lending.limits.recheck", ctx(app))
        assert result is not None
        assert result.outcome == "ok", result.error
        assert result.handled >= 1
        row, events = await state_of(app, uscc)
        assert row.total_fen == expected
        assert row.state == "active"
        assert events[-1][0] == "adjusted"
        assert events[-1][1].startswith("LIMIT_RECHECK_RAISED")
        assert {s["product_code"]: s["limit_fen"] for s in row.sub_limits} == {tax.code: expected}

        assert not await due(app, uscc)
        await recheck_due(app.state.db)  # a second run finds nothing new for this customer
        again, events_again = await state_of(app, uscc)
        assert (again.total_fen, events_again) == (row.total_fen, events)
        async with app.state.db.unit_of_work() as session:
            audited = await session.scalar(
                select(AuditRecord.reason).where(
                    AuditRecord.action == "credit_limit.rechecked",
                    AuditRecord.target == f"credit_limit:{row.id}",
                )
            )
        assert audited == "LIMIT_RECHECK_RAISED"

    async def test_no_capacity_left_freezes_the_limit(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        uscc = await limit_with(app, products[0], total=50_000_00, used=10_000_00)
        await store_features(
            app,
            uscc,
            {
                **HEALTHY,
                "tax.declared_revenue_12m_fen": 100_000_00,
                "procurement.award_value_12m_fen": 0,
            },
        )
        await recheck_due(app.state.db)
        row, events = await state_of(app, uscc)
        assert row.state == "frozen"
        assert row.total_fen == 50_000_00
        assert events[-1][0] == "frozen"
        assert events[-1][1].startswith("LIMIT_RECHECK_NO_CAPACITY")

    async def test_capacity_below_exposure_lowers_to_the_exposure_and_freezes(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        tax = products[0]
        probe = new_uscc()
        await store_features(app, probe, HEALTHY)
        capacity = await capacity_on_stored_data(app, probe, tax)
        exposure = capacity + 20_000_00
        uscc = await limit_with(app, tax, total=capacity + 50_000_00, used=exposure)
        await store_features(app, uscc, HEALTHY)
        await recheck_due(app.state.db)
        row, events = await state_of(app, uscc)
        assert (row.state, row.total_fen) == ("frozen", exposure)
        assert [k for k, _ in events[-2:]] == ["adjusted", "frozen"]
        assert events[-1][1].startswith("LIMIT_RECHECK_BELOW_EXPOSURE")

    async def test_a_recheck_never_lifts_a_freeze(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        uscc = await limit_with(app, products[0], total=50_000_00, used=10_000_00)
        async with app.state.db.unit_of_work() as session:
            await CreditLimitService(session).freeze(uscc, "early warning")
        await store_features(app, uscc, HEALTHY)
        await recheck_due(app.state.db)
        row, events = await state_of(app, uscc)
        assert row.state == "frozen"
        assert row.total_fen > 50_000_00
        assert events[-1][0] == "adjusted"

    async def test_a_limit_past_its_expiry_expires(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        uscc = await limit_with(app, products[0], total=50_000_00, used=10_000_00)
        async with app.state.db.unit_of_work() as session:
            await session.execute(
                update(CustomerCreditLimit)
                .where(CustomerCreditLimit.uscc == uscc)
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
        await store_features(app, uscc, HEALTHY)
        await recheck_due(app.state.db)
        row, events = await state_of(app, uscc)
        assert row.state == "expired"
        assert events[-1][0] == "expired"

    async def test_a_limit_the_model_cannot_recheck_is_marked_and_does_not_block_others(
        self, app: Litestar, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, products = await lending_partner(app)
        broken = await limit_with(app, products[0], total=50_000_00, used=10_000_00)
        fine = await limit_with(app, products[0], total=50_000_00, used=10_000_00)
        for uscc in (broken, fine):
            await store_features(app, uscc, HEALTHY)
        real = recheck.recheck_limit

        async def flaky(session: Any, row: CustomerCreditLimit, at: Any = None) -> Any:
            if row.uscc == broken:
                row.total_fen = 1  # a half-made change the savepoint must undo
                raise LimitError("policy has no multiplier for 'Z'")
            return await real(session, row, at)

        monkeypatch.setattr(recheck, "recheck_limit", flaky)
        await recheck_due(app.state.db)
        row, events = await state_of(app, broken)
        assert (row.total_fen, row.state, events[-1][0]) == (50_000_00, "active", "occupied")
        assert not await due(app, broken)
        assert (await state_of(app, fine))[1][-1][0] == "adjusted"
        async with app.state.db.unit_of_work() as session:
            outcome = await session.scalar(
                select(AuditRecord.outcome).where(
                    AuditRecord.action == "credit_limit.rechecked",
                    AuditRecord.target == f"credit_limit:{row.id}",
                )
            )
        assert outcome == "failure"


async def events_of(app: Litestar, subject: str) -> list[str]:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test"):
            rows = await session.execute(
                select(PartnerEvent.event_type)
                .where(PartnerEvent.subject == subject)
                .order_by(PartnerEvent.occurred_at)
            )
            return list(rows.scalars())


async def backdate(app: Litestar, model: type[Offer] | type[Application], id_: Any) -> None:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test"):
            await session.execute(
                update(model)
                .where(model.id == uuid.UUID(str(id_)))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )


class TestExpiry:
    async def test_lapsed_offers_expire_once_and_the_partner_hears_of_it(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, _ = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        partner = await consented_caller(app, tenant, uscc)
        offered = await partner.post("/api/v1/offers", json={"uscc": uscc})
        assert offered.status_code == 201, offered.text
        lapsed, fresh = offered.json()[0], offered.json()[1]
        await partner.post(f"/api/v1/offers/{lapsed['id']}/ack")
        await backdate(app, Offer, lapsed["id"])

        result = await run_job("lending.offers.expire", ctx(app))
        assert result is not None
        assert result.outcome == "ok", result.error
        assert result.handled >= 1
        await expire_offers(app.state.db)  # a second run leaves an expired offer alone
        assert (await partner.get(f"/api/v1/offers/{lapsed['id']}")).json()["status"] == "expired"
        assert (await partner.get(f"/api/v1/offers/{fresh['id']}")).json()["status"] == "created"
        assert await events_of(app, f"offer:{lapsed['id']}") == [
            "offer.created",
            "offer.delivered",
            "offer.expired",
        ]

    async def test_applications_left_open_expire_but_decided_ones_do_not(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        partner = await consented_caller(app, tenant, uscc)
        ids = []
        for n in range(2):
            created = await partner.post(
                "/api/v1/applications",
                json=application_body(uscc, products[0]),
                headers={"Idempotency-Key": f"expiry-{uuid.uuid4()}-{n}"},
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        draft, decided = ids
        submitted = await partner.post(f"/api/v1/applications/{decided}/submit")
        assert submitted.json()["status"] in {"approved", "manual_review", "declined"}
        await backdate(app, Application, draft)
        await backdate(app, Application, decided)

        assert await expire_applications(app.state.db) >= 1
        assert await expire_applications(app.state.db, at=utcnow()) == 0
        seen = (await partner.get(f"/api/v1/applications/{draft}")).json()
        assert (seen["status"], seen["status_reason"]) == ("expired", "not completed")
        assert (await partner.get(f"/api/v1/applications/{decided}")).json()["status"] != "expired"
        assert (await events_of(app, f"application:{draft}"))[-1] == "application.expired"
