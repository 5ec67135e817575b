"""Public products and pages (APR first), product matching, and the offer lifecycle."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.lending_builders import (
    HEALTHY,
    WEAK,
    consented_caller,
    lending_partner,
    new_uscc,
    store_features,
)

from puhui.db.session import tenant_bypass
from puhui.webhooks.models import PartnerEvent

pytestmark = pytest.mark.anyio


class TestCatalogue:
    async def test_list_and_detail_show_bounds_and_a_representative_apr(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        listed = await client.get("/api/v1/products")
        assert listed.status_code == 200
        codes = {p["code"] for p in listed.json()}
        assert {p.code for p in products} <= codes
        procure = next(p for p in products if p.code.endswith("PROCURE-LOAN"))
        detail = (await client.get(f"/api/v1/products/{procure.code}")).json()
        assert detail["required_sources"] == ["tax", "procurement"]
        example = detail["representative_example"]
        # An upfront fee makes the APR exceed the nominal rate (IRR method counts every fee).
        assert float(example["apr_percent"]) > float(example["annual_interest_rate"]) * 100
        assert example["amount_received_fen"] < example["principal_fen"]

    async def test_unknown_product_is_404(self, app: Litestar, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/products/NO-SUCH-LOAN")).status_code == 404
        assert (await client.get("/products/NO-SUCH-LOAN")).status_code == 404

    async def test_product_page_puts_the_apr_before_any_daily_rate(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        _, products = await lending_partner(app)
        page = await client.get(f"/products/{products[0].code}", headers={"accept-language": "en"})
        assert page.status_code == 200
        html = page.text
        assert "Annualised rate (APR, IRR method)" in html
        apr = html.index("apr-value")
        assert apr < html.index("Daily rate")
        assert re.search(r'class="apr-value"><strong>\d+\.\d{4}%</strong>', html)

    async def test_matching_ranks_products_that_fit_the_need(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        await lending_partner(app)
        need = {"amount_fen": 2_000_000_00, "term_months": 6, "scenario": "procurement"}
        matched = await client.post("/api/v1/products/match", json=need)
        assert matched.status_code == 200, matched.text
        best = matched.json()[0]
        assert best["code"].endswith("PROCURE-LOAN")
        assert "SCENARIO_MATCH" in best["reasons"]
        too_much = await client.post("/api/v1/products/match", json={"amount_fen": 5_000_000_00})
        assert too_much.status_code == 200
        assert too_much.json() == [], "no product lends five million yuan"
        bad = await client.post("/api/v1/products/match", json={"amount_fen": -5})
        assert bad.status_code in {400, 422}


class TestOffers:
    async def test_lifecycle_and_partner_events(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, _ = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        partner = await consented_caller(app, tenant, uscc)
        offers = (await partner.post("/api/v1/offers", json={"uscc": uscc})).json()
        assert offers, "a healthy enterprise is pre-qualified"
        offer = offers[0]
        url = f"/api/v1/offers/{offer['id']}"
        early = await partner.post(f"{url}/accept")
        assert early.status_code == 409, "an offer is accepted only once delivered"
        assert (await partner.post(f"{url}/ack")).json()["status"] == "delivered"
        assert (await partner.post(f"{url}/reject")).json()["status"] == "rejected"
        assert (await partner.post(f"{url}/ack")).status_code == 409
        assert (await partner.get(url)).json()["status"] == "rejected"
        async with app.state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="test.events"):
                types = (
                    await session.execute(
                        select(PartnerEvent.event_type).where(
                            PartnerEvent.subject == f"offer:{offer['id']}"
                        )
                    )
                ).scalars()
                assert set(types) == {"offer.created", "offer.delivered", "offer.rejected"}

    async def test_a_weak_enterprise_gets_no_offer(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, _ = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, WEAK)
        partner = await consented_caller(app, tenant, uscc)
        response = await partner.post("/api/v1/offers", json={"uscc": uscc})
        assert response.status_code == 201
        assert response.json() == []

    async def test_offers_need_consent_for_that_enterprise_and_stored_data(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, _ = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        other = await partner.post("/api/v1/offers", json={"uscc": new_uscc()})
        assert other.status_code == 403
        no_data = await partner.post("/api/v1/offers", json={"uscc": uscc})
        assert no_data.status_code == 409
        malformed = await partner.post("/api/v1/offers", json={"uscc": "123"})
        assert malformed.status_code in {400, 422}

    async def test_an_offer_of_another_partner_is_not_found(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, _ = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        owner = await consented_caller(app, tenant, uscc)
        offer = (await owner.post("/api/v1/offers", json={"uscc": uscc})).json()[0]
        stranger_tenant, _ = await lending_partner(app)
        stranger = await consented_caller(app, stranger_tenant, uscc)
        assert (await stranger.get(f"/api/v1/offers/{offer['id']}")).status_code == 404
        assert (await stranger.post(f"/api/v1/offers/{offer['id']}/ack")).status_code == 404
