"""The partner's consent API: what it may ask for, tenant isolation, revocation, scope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_tenant, member_client, row_snapshot
from tests.conftest import http_client
from tests.consent_builders import random_uscc, request_consent
from tests.oauth_builders import DPoPAuth, EcKey, create_client, token_with_dpop

from puhui.consent.models import Consent

pytestmark = pytest.mark.anyio


async def _api(
    app: Litestar, scopes: tuple[str, ...] = ("consents",)
) -> tuple[httpx.AsyncClient, Any, str]:
    tenant = await create_tenant(app)
    registered = await create_client(app, tenant, scopes=scopes)
    key = EcKey()
    http = http_client(app)
    token = await token_with_dpop(http, registered, key, {"scope": " ".join(scopes)})
    assert token.status_code == 200, token.text
    http.auth = DPoPAuth(token.json()["access_token"], key, signing_key=registered.key)
    return http, tenant, registered.client_id


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enterprise_uscc": random_uscc(),
        "purposes": ["credit_assessment", "post_loan_monitoring"],
        "data_items": [
            {"source": "tax", "items": ["vat_returns", "tax_credit_grade"], "lookback_months": 24},
            {"source": "payroll", "items": ["payroll_summary"]},
        ],
    }
    body.update(overrides)
    return body


async def test_a_partner_asks_reads_and_withdraws_a_consent(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    api, _tenant, client_id = await _api(app)
    created = await api.post("/api/v1/consents", json=_body(validity_days=30))
    assert created.status_code == 201, created.text
    consent = created.json()
    assert consent["status"] == "awaiting_authorisation"
    assert consent["client_id"] == client_id
    assert consent["validity_days"] == 30
    assert consent["valid_until"] is None  # validity starts when the customer grants
    read = await api.get(f"/api/v1/consents/{consent['id']}")
    assert read.json()["data_items"][0] == {
        "source": "tax",
        "items": ["tax_credit_grade", "vat_returns"],
        "lookback_months": 24,
    }
    withdrawn = await api.post(f"/api/v1/consents/{consent['id']}/revoke", json={"reason": "x"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "revoked"
    again = await api.post(f"/api/v1/consents/{consent['id']}/revoke", json={})
    assert again.status_code == 409
    receipts = await api.get(f"/api/v1/consents/{consent['id']}/receipts")
    assert receipts.json() == []  # never granted: nothing to give a receipt for


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purposes": ["credit_assessment", "marketing"]}, "purposes"),  # never bundled
        ({"enterprise_uscc": "91440300MA5F7K2A70"}, "enterprise_uscc"),  # bad check digit
        ({"validity_days": 400}, "validity_days"),  # above the configured maximum
        ({"data_items": [{"source": "tax", "items": ["bank_statements"]}]}, "data_items[0].items"),
        (
            {
                "data_items": [
                    {"source": "tax", "items": ["vat_returns"]},
                    {"source": "tax", "items": ["tax_arrears"]},
                ]
            },
            "data_items[1].source",
        ),
    ],
)
async def test_requests_the_customer_should_never_see_are_refused(
    app: Litestar, client: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    api, _tenant, _client_id = await _api(app)
    response = await api.post("/api/v1/consents", json=_body(**overrides))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_marketing_alone_is_a_consent_of_its_own(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    api, _tenant, _client_id = await _api(app)
    response = await api.post("/api/v1/consents", json=_body(purposes=["marketing"]))
    assert response.status_code == 201, response.text
    assert response.json()["purposes"] == ["marketing"]


async def test_another_tenants_client_gets_404_and_changes_nothing(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    victim_tenant = await create_tenant(app)
    victim = await request_consent(app, victim_tenant, "ph_victim", random_uscc())
    attacker, _tenant, _client_id = await _api(app)
    before = await row_snapshot(app, Consent, victim.id)
    for method, path, body in [
        ("GET", f"/api/v1/consents/{victim.id}", None),
        ("GET", f"/api/v1/consents/{victim.id}/receipts", None),
        ("POST", f"/api/v1/consents/{victim.id}/revoke", {"reason": "attack"}),
    ]:
        response = await attacker.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert await row_snapshot(app, Consent, victim.id) == before


async def test_a_token_without_the_consents_scope_and_portal_members_are_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    api, _tenant, _client_id = await _api(app, scopes=("accounts.read",))
    assert (await api.post("/api/v1/consents", json=_body())).status_code == 403
    member, _tenant, _member = await member_client(app)
    assert (await member.post("/api/v1/consents", json=_body())).status_code == 403


async def test_customer_routes_document_the_consent_centre_cookie(app: Litestar) -> None:
    schema = app.openapi_schema.to_schema()
    scheme = schema["components"]["securitySchemes"]["customerSession"]
    assert scheme == {
        "type": "apiKey",
        "name": "puhui_customer",
        "in": "cookie",
        "description": scheme["description"],
    }
    customer_ops = [
        op
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/customer/consents")
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(customer_ops) == 4
    for op in customer_ops:
        assert op["security"] == [{"customerSession": []}], op["operationId"]
