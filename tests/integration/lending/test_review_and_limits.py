"""Manual review (9.2.2 c), unified limits (9.3.1), rule-set publication and AML screening."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_member, create_tenant, login
from tests.conftest import http_client
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
from puhui.errors import Conflict
from puhui.risk.models import BlacklistRow
from puhui.risk.rulesets import DEFAULT_RULESET_FILE
from puhui.risk.service import SANCTIONS_SOURCE, CreditLimitService
from puhui.tenancy.models import TenantKind

pytestmark = pytest.mark.anyio

# Revenue large enough that the assessed limit passes the auto-approval ceiling.
LARGE = {**HEALTHY, "tax.declared_revenue_12m_fen": 30_000_000_00}


async def risk_officer(app: Litestar) -> httpx.AsyncClient:
    bank = await create_tenant(app, kind=TenantKind.BANK)
    member = await create_member(app, bank, ["risk_officer"])
    http = http_client(app)
    await login(http, member)
    return http


async def referred_application(app: Litestar) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    tenant, products = await lending_partner(app)
    uscc = new_uscc()
    await store_features(app, uscc, LARGE)
    partner = await consented_caller(app, tenant, uscc)
    tax = next(p for p in products if p.code.endswith("TAX-LOAN"))
    body = application_body(uscc, tax, amount_fen=800_000_00)
    created = await partner.post(
        "/api/v1/applications", json=body, headers={"Idempotency-Key": f"k-{uuid.uuid4()}"}
    )
    submitted = await partner.post(f"/api/v1/applications/{created.json()['id']}/submit")
    assert submitted.json()["status"] == "manual_review", submitted.text
    return partner, submitted.json()


async def case_of(officer: httpx.AsyncClient, application_id: str) -> dict[str, Any]:
    queue = await officer.get("/api/v1/operator/reviews", params={"status": "open", "limit": 200})
    assert queue.status_code == 200, queue.text
    (case,) = [c for c in queue.json() if c["application_id"] == application_id]
    return dict(case)


async def audit_actions(app: Litestar, target: str) -> list[tuple[str, str | None]]:
    async with app.state.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditRecord.action, AuditRecord.reason)
            .where(AuditRecord.target == target)
            .order_by(AuditRecord.occurred_at)
        )
        return [(a, r) for a, r in rows]


class TestManualReview:
    async def test_approve_needs_the_case_assigned_and_is_audited_with_its_reason(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        partner, application = await referred_application(app)
        officer = await risk_officer(app)
        case = await case_of(officer, application["id"])
        assert "ROUTE_ABOVE_AUTO_CEILING" in case["route_reasons"]
        url = f"/api/v1/operator/reviews/{case['id']}"
        early = await officer.post(f"{url}/approve", json={"reason": "looks fine"})
        assert early.status_code == 403
        assigned = await officer.post(f"{url}/assign", json={"reason": "taking it"})
        assert assigned.json()["status"] == "assigned"
        approved = await officer.post(
            f"{url}/approve", json={"reason": "cash flow verified by phone"}
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        seen = (await partner.get(f"/api/v1/applications/{application['id']}")).json()
        assert seen["status"] == "approved"
        actions = await audit_actions(app, f"application:{application['id']}")
        assert ("review.approved", "cash flow verified by phone") in actions
        again = await officer.post(f"{url}/decline", json={"reason": "second thoughts"})
        assert again.status_code == 409

    async def test_decline_records_a_lead_and_return_reopens_data_collection(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        officer = await risk_officer(app)
        partner, first = await referred_application(app)
        case = await case_of(officer, first["id"])
        url = f"/api/v1/operator/reviews/{case['id']}"
        await officer.post(f"{url}/assign", json={"reason": "taking it"})
        declined = await officer.post(f"{url}/decline", json={"reason": "thin margins"})
        assert declined.json()["status"] == "declined"
        leads = (await partner.get(f"/api/v1/applications/{first['id']}/leads")).json()
        assert len(leads) == 1
        assert ("review.declined", "thin margins") in await audit_actions(
            app, f"application:{first['id']}"
        )

        partner, second = await referred_application(app)
        case = await case_of(officer, second["id"])
        url = f"/api/v1/operator/reviews/{case['id']}"
        await officer.post(f"{url}/assign", json={"reason": "taking it"})
        returned = await officer.post(f"{url}/return", json={"reason": "need bank statements"})
        assert returned.json()["status"] == "returned"
        seen = (await partner.get(f"/api/v1/applications/{second['id']}")).json()
        assert seen["status"] == "collecting_data"
        assert seen["status_reason"] == "need bank statements"

    async def test_a_partner_member_cannot_reach_the_queue(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant = await create_tenant(app)
        member = await create_member(app, tenant, ["owner"])
        http = http_client(app)
        await login(http, member)
        assert (await http.get("/api/v1/operator/reviews")).status_code == 403


class TestUnifiedLimit:
    async def test_a_second_product_and_partner_cannot_exceed_the_umbrella(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        one, two = await create_tenant(app), await create_tenant(app)
        uscc = new_uscc()
        async with app.state.db.unit_of_work() as session:
            limits = CreditLimitService(session)
            first = await limits.occupy_for_approval(
                uscc, "TAX-LOAN", 100_000_00, 80_000_00, partner_tenant_id=one.id, reference="a"
            )
            assert first.available_fen == 20_000_00
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(Conflict, match="Over-crediting"):
                await CreditLimitService(session).occupy_for_approval(
                    uscc,
                    "PAYROLL-LOAN",
                    100_000_00,
                    30_000_00,
                    partner_tenant_id=two.id,
                    reference="b",
                )
        async with app.state.db.unit_of_work() as session:
            fits = await CreditLimitService(session).occupy_for_approval(
                uscc, "PAYROLL-LOAN", 100_000_00, 20_000_00, partner_tenant_id=two.id, reference="c"
            )
            assert fits.available_fen == 0
        officer = await risk_officer(app)
        events = await officer.get(f"/api/v1/operator/credit-limits/{uscc}/events")
        assert [e["kind"] for e in events.json()] == [
            "activated",
            "occupied",
            "adjusted",
            "occupied",
        ]
        position = (await officer.get(f"/api/v1/operator/credit-limits/{uscc}")).json()
        assert position["total_fen"] == 100_000_00
        assert sum(s["outstanding_fen"] for s in position["sub_limits"]) == 100_000_00

    async def test_a_frozen_limit_refuses_new_loans(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant = await create_tenant(app)
        uscc = new_uscc()
        async with app.state.db.unit_of_work() as session:
            await CreditLimitService(session).occupy_for_approval(
                uscc, "TAX-LOAN", 100_000_00, 10_000_00, partner_tenant_id=tenant.id, reference="a"
            )
        officer = await risk_officer(app)
        frozen = await officer.post(
            f"/api/v1/operator/credit-limits/{uscc}/freeze", json={"reason": "early warning"}
        )
        assert frozen.json()["state"] == "frozen"
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(Conflict):
                await CreditLimitService(session).occupy_for_approval(
                    uscc,
                    "TAX-LOAN",
                    100_000_00,
                    1_000_00,
                    partner_tenant_id=tenant.id,
                    reference="b",
                )


class TestRuleSets:
    async def test_publishing_keeps_old_versions_and_refuses_duplicates(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        await lending_partner(app)
        officer = await risk_officer(app)
        document = json.loads(DEFAULT_RULESET_FILE.read_text())
        document["version"] = f"2099.{uuid.uuid4().hex[:8]}"
        document["effective_from"] = "2099-01-01T00:00:00+00:00"  # published, not yet in force
        body = {"document": json.dumps(document), "note": "next year's rules"}
        published = await officer.post("/api/v1/operator/rulesets", json=body)
        assert published.status_code == 201, published.text
        again = await officer.post("/api/v1/operator/rulesets", json=body)
        assert again.status_code == 409
        versions = [r["version"] for r in (await officer.get("/api/v1/operator/rulesets")).json()]
        assert {"2025.1.0", document["version"]} <= set(versions)

    async def test_a_malformed_rule_set_is_refused(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        officer = await risk_officer(app)
        bad = {"document": json.dumps({"id": "x", "version": "1", "rules": []})}
        response = await officer.post("/api/v1/operator/rulesets", json=bad)
        assert response.status_code == 422


async def test_a_sanctioned_enterprise_is_declined_and_not_retained(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant, products = await lending_partner(app)
    uscc = new_uscc()
    await store_features(app, uscc, HEALTHY)
    async with app.state.db.unit_of_work() as session:
        session.add(
            BlacklistRow(
                kind="uscc",
                value=uscc,
                valid_from=utcnow(),
                action="decline",
                source=SANCTIONS_SOURCE,
            )
        )
    partner = await consented_caller(app, tenant, uscc)
    tax = next(p for p in products if p.code.endswith("TAX-LOAN"))
    created = await partner.post(
        "/api/v1/applications",
        json=application_body(uscc, tax),
        headers={"Idempotency-Key": "sanctioned-1"},
    )
    decided = await partner.post(f"/api/v1/applications/{created.json()['id']}/submit")
    assert decided.json()["status"] == "declined"
    assert (await partner.get(f"/api/v1/applications/{created.json()['id']}/leads")).json() == []
