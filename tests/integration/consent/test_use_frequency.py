"""Use frequency is enforced at the consent step: uses per bank day, shared by every worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_tenant
from tests.conftest import http_client
from tests.consent_builders import create_customer
from tests.integration.oauth.fapi_flow import grant_through_the_browser, partner_requests_consent
from tests.oauth_builders import FapiClient, create_client

from puhui.app import create_app
from puhui.consent.usage import ConsentUses, bank_day, seconds_to_next_bank_day

pytestmark = pytest.mark.anyio
CALLER = "/api/v1/oauth/caller"


def _fapi(app: Litestar, registered: object) -> FapiClient:
    return FapiClient(registered, transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]


async def test_uses_past_the_daily_limit_are_refused_in_every_worker(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    registered = await create_client(
        app,
        tenant,
        grant_types=("authorization_code", "client_credentials", "refresh_token"),
        scopes=("accounts.read", "consents"),
    )
    customer = await create_customer(app)
    async with _fapi(app, registered) as oauth:
        consent_id = await partner_requests_consent(oauth, customer, uses_per_day=2)
        await grant_through_the_browser(
            app, oauth, http_client(app), customer, consent_id, scope="consents"
        )
        read = f"/api/v1/consents/{consent_id}"  # declares scope `consents`: a use
        for _ in range(2):
            used = await oauth.get(read)
            assert used.status_code == 200, used.text
            assert used.json()["uses_per_day"] == 2
        refused = await oauth.get(read)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("/problems/consent-use-limit")
        assert 0 < int(refused.headers["retry-after"]) <= 86_400
        # "Who am I" declares no scope: not a use of the customer's data, still answered.
        assert (await oauth.get(CALLER)).status_code == 200

        other_worker = create_app(app.state.settings)
        async with other_worker.lifespan(), _fapi(other_worker, registered) as elsewhere:
            elsewhere.dpop, elsewhere.token = oauth.dpop, oauth.token
            again = await elsewhere.get(read)
        assert again.status_code == 429, again.text
    assert await ConsentUses(app.state.db, app.state.redis).count(uuid.UUID(consent_id)) == 4


async def test_uses_are_counted_per_bank_day_in_china_standard_time(app: Litestar) -> None:
    counter = ConsentUses(app.state.db, app.state.redis)
    consent_id = uuid.uuid4()
    late_utc = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Beijing
    after_midnight = datetime(2026, 3, 1, 16, 5, tzinfo=UTC)  # 00:05 the next Beijing day
    assert bank_day(late_utc) != bank_day(after_midnight)
    assert seconds_to_next_bank_day(late_utc) == 30 * 60 + 1
    # The database counter has a foreign key to the consent: count against a real one there.
    if app.state.redis is None:
        consent_id = await _any_consent_id(app)
    first = await counter.record(consent_id, late_utc)
    assert await counter.record(consent_id, late_utc) == first + 1
    assert await counter.record(consent_id, after_midnight) == 1
    assert await counter.count(consent_id, late_utc) == first + 1


async def _any_consent_id(app: Litestar) -> uuid.UUID:
    from tests.consent_builders import request_consent

    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await request_consent(app, tenant, "ph_usage", customer.enterprise.uscc)
    return consent.id
