"""Applications: validation, Idempotency-Key semantics, the state machine, gating, retention."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_tenant
from tests.lending_builders import (
    HEALTHY,
    WEAK,
    application_body,
    consented_caller,
    lending_partner,
    new_uscc,
    store_features,
)

from puhui.lending.products import ProductSpec

pytestmark = pytest.mark.anyio


def _tax(products: tuple[ProductSpec, ...]) -> ProductSpec:
    return next(p for p in products if p.code.endswith("TAX-LOAN"))


async def _apply(
    partner: httpx.AsyncClient, body: dict[str, object], key: str = "key-00000001"
) -> httpx.Response:
    return await partner.post("/api/v1/applications", json=body, headers={"Idempotency-Key": key})


class TestCreateApplication:
    async def test_same_key_same_body_gives_the_same_application(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        body = application_body(uscc, _tax(products))
        first = await _apply(partner, body)
        second = await _apply(partner, dict(reversed(list(body.items()))))
        assert first.status_code == second.status_code == 201, second.text
        assert first.json() == second.json()
        listed = await partner.get("/api/v1/applications")
        assert [a["id"] for a in listed.json()] == [first.json()["id"]]

    async def test_same_key_other_body_is_a_conflict(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        assert (await _apply(partner, application_body(uscc, _tax(products)))).status_code == 201
        other = application_body(uscc, _tax(products), amount_fen=300_000_00)
        refused = await _apply(partner, other)
        assert refused.status_code == 409, refused.text

    async def test_keys_are_scoped_per_client(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        one = await consented_caller(app, tenant, uscc)
        two = await consented_caller(app, tenant, uscc)
        body = application_body(uscc, _tax(products))
        a = await _apply(one, body)
        b = await _apply(two, body)
        assert a.status_code == b.status_code == 201
        assert a.json()["id"] != b.json()["id"]

    async def test_the_key_is_required(self, app: Litestar, client: httpx.AsyncClient) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        response = await partner.post(
            "/api/v1/applications", json=application_body(uscc, _tax(products))
        )
        assert response.status_code == 422
        assert "Idempotency-Key" in response.text

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("amount_fen", 1),  # below the product minimum
            ("term_months", 7),  # not a term the product offers
            ("repayment_method", "bullet"),  # not a method of the tax loan
            ("contact_phone", "12345"),
            ("uscc", "not-a-uscc"),
            ("purpose", "Buy A Yacht!"),
        ],
    )
    async def test_invalid_fields_are_named(
        self, app: Litestar, client: httpx.AsyncClient, field: str, value: object
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        body = application_body(uscc, _tax(products)) | {field: value}
        response = await _apply(partner, body)
        assert response.status_code in {400, 422}, response.text
        assert field in response.text

    async def test_another_enterprise_than_the_consented_one_is_refused(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        partner = await consented_caller(app, tenant, new_uscc())
        response = await _apply(partner, application_body(new_uscc(), _tax(products)))
        assert response.status_code == 403

    async def test_a_product_not_offered_through_the_channel_is_refused(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        stranger = await create_tenant(app)
        uscc = new_uscc()
        partner = await consented_caller(app, stranger, uscc)
        response = await _apply(partner, application_body(uscc, _tax(products)))
        assert response.status_code == 422
        assert "product_code" in response.text


class TestLifecycle:
    async def test_missing_data_keeps_the_application_collecting(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, {"payroll.headcount": 12})
        partner = await consented_caller(app, tenant, uscc)
        created = (await _apply(partner, application_body(uscc, _tax(products)))).json()
        submitted = await partner.post(f"/api/v1/applications/{created['id']}/submit")
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == "collecting_data"
        assert submitted.json()["missing_sources"] == ["tax"]

    async def test_withdrawn_cannot_be_submitted(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        created = (await _apply(partner, application_body(uscc, _tax(products)))).json()
        withdrawn = await partner.post(
            f"/api/v1/applications/{created['id']}/withdraw", json={"reason": "changed mind"}
        )
        assert withdrawn.json()["status"] == "withdrawn"
        again = await partner.post(f"/api/v1/applications/{created['id']}/submit")
        assert again.status_code == 409
        twice = await partner.post(
            f"/api/v1/applications/{created['id']}/withdraw", json={"reason": "changed mind"}
        )
        assert twice.status_code == 409

    async def test_a_decline_is_kept_as_a_lead(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, WEAK)
        partner = await consented_caller(app, tenant, uscc)
        created = (await _apply(partner, application_body(uscc, _tax(products)))).json()
        decided = (await partner.post(f"/api/v1/applications/{created['id']}/submit")).json()
        assert decided["status"] == "declined", decided
        leads = await partner.get(f"/api/v1/applications/{created['id']}/leads")
        assert leads.status_code == 200
        (lead,) = leads.json()
        assert lead["referral"] in {"alternative_products", "account_manager"}
        assert lead["status"] == "open"

    async def test_healthy_enterprise_is_approved_within_its_limit(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        partner = await consented_caller(app, tenant, uscc)
        created = (await _apply(partner, application_body(uscc, _tax(products)))).json()
        decided = (await partner.post(f"/api/v1/applications/{created['id']}/submit")).json()
        why = await partner.get(f"/api/v1/applications/{created['id']}/decision")
        assert decided["status"] == "approved", why.json()["reasons"]
        assert 0 < decided["approved_amount_fen"] <= 200_000_00


async def test_another_partners_application_is_not_found(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant, products = await lending_partner(app)
    uscc = new_uscc()
    owner = await consented_caller(app, tenant, uscc)
    created = (await _apply(owner, application_body(uscc, _tax(products)))).json()
    other_tenant, _ = await lending_partner(app)
    stranger = await consented_caller(app, other_tenant, uscc)
    url = f"/api/v1/applications/{created['id']}"
    assert (await stranger.get(url)).status_code == 404
    assert (await stranger.post(f"{url}/submit")).status_code == 404
    withdraw = await stranger.post(f"{url}/withdraw", json={"reason": "not mine to withdraw"})
    assert withdraw.status_code == 404
    assert (await owner.get(url)).json()["status"] == "draft"
