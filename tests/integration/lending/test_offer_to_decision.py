"""A consented customer of a sandbox partner goes from offer to decision through the API."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
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

from puhui.tenancy.models import TenantKind

pytestmark = pytest.mark.anyio


async def risk_officer(app: Litestar) -> httpx.AsyncClient:
    bank = await create_tenant(app, kind=TenantKind.BANK)
    member = await create_member(app, bank, ["risk_officer"])
    http = http_client(app)
    await login(http, member)
    return http


async def test_offer_accept_apply_decide_and_replay(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant, products = await lending_partner(app)
    uscc = new_uscc()
    await store_features(app, uscc, HEALTHY)
    partner = await consented_caller(app, tenant, uscc)

    offered = await partner.post("/api/v1/offers", json={"uscc": uscc})
    assert offered.status_code == 201, offered.text
    offers = {o["product_code"]: o for o in offered.json()}
    tax = next(p for p in products if p.code.endswith("TAX-LOAN"))
    offer = offers[tax.code]
    assert offer["status"] == "created"
    assert offer["min_amount_fen"] <= offer["max_amount_fen"] <= tax.max_amount_fen
    assert float(offer["apr_percent"]) > 0
    assert offer["cost_example"]["total_cost_fen"] > 0

    acked = await partner.post(f"/api/v1/offers/{offer['id']}/ack")
    assert acked.json()["status"] == "delivered"
    accepted = await partner.post(f"/api/v1/offers/{offer['id']}/accept")
    assert accepted.json()["status"] == "accepted"

    body = application_body(uscc, tax, offer_id=offer["id"], amount_fen=100_000_00)
    created = await partner.post(
        "/api/v1/applications", json=body, headers={"Idempotency-Key": "flow-0001-key"}
    )
    assert created.status_code == 201, created.text
    application = created.json()
    assert application["status"] == "draft"

    submitted = await partner.post(f"/api/v1/applications/{application['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    decided = submitted.json()
    assert decided["status"] in {"approved", "manual_review", "declined"}
    assert decided["decision_id"] is not None

    summary = await partner.get(f"/api/v1/applications/{application['id']}/decision")
    assert summary.status_code == 200, summary.text
    assert summary.json()["reasons"], "the customer is told why in plain words"

    officer = await risk_officer(app)
    record = await officer.get(f"/api/v1/operator/decisions/{decided['decision_id']}")
    assert record.status_code == 200, record.text
    assert record.json()["record"]["ruleset_id"] == "puhui-baseline-admission"
    replayed = await officer.post(f"/api/v1/operator/decisions/{decided['decision_id']}/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["reproduced"] is True
    assert replayed.json()["record_hash"] == record.json()["record_hash"]
