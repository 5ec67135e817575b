"""What the OAuth server and the connectors ask the consent domain, answered from live state."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from litestar import Litestar
from tests.builders import create_tenant
from tests.consent_builders import authorised_consent, create_customer, random_uscc, request_consent
from tests.oauth_builders import create_client

from puhui.clock import FrozenClock
from puhui.consent.enforce import CONSENT_INACTIVE
from puhui.consent.gate import admit_pushed_request, consent_is_active
from puhui.consent.grants import consent_grant_for
from puhui.consent.models import Consent
from puhui.consent.service import revoke_consent
from puhui.consent.status import board_of
from puhui.errors import ProblemError
from puhui.oauth.par import AuthorizationRequestError

pytestmark = pytest.mark.anyio


async def test_a_pushed_request_is_admitted_only_for_the_clients_own_awaiting_consent(
    app: Litestar, frozen: FrozenClock
) -> None:
    tenant = await create_tenant(app)
    mine = await create_client(app, tenant, grant_types=("authorization_code",))
    sibling = await create_client(app, tenant, grant_types=("authorization_code",))
    consent = await request_consent(app, tenant, mine.client_id, random_uscc())
    async with app.state.db.unit_of_work(tenant.id) as session:
        await admit_pushed_request(session, mine.row, str(consent.id))
        for client, consent_id in [
            (sibling.row, str(consent.id)),  # same tenant, another client
            (mine.row, str(uuid.uuid4())),  # unknown
            (mine.row, "not-a-uuid"),
        ]:
            with pytest.raises(AuthorizationRequestError) as refused:
                await admit_pushed_request(session, client, consent_id)
            assert refused.value.error == "invalid_request"
    frozen.advance(timedelta(hours=24, seconds=1))
    async with app.state.db.unit_of_work(tenant.id) as session:
        with pytest.raises(AuthorizationRequestError, match="lapsed"):
            await admit_pushed_request(session, mine.row, str(consent.id))


async def test_an_authorised_consent_cannot_be_pushed_again(app: Litestar) -> None:
    tenant = await create_tenant(app)
    registered = await create_client(app, tenant, grant_types=("authorization_code",))
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, registered.client_id, customer)
    async with app.state.db.unit_of_work() as session:
        with pytest.raises(AuthorizationRequestError, match="authorised"):
            await admit_pushed_request(session, registered.row, str(consent.id))
        assert await consent_is_active(session, consent.id)


async def test_a_grant_names_the_items_and_stops_once_the_consent_is_revoked(
    app: Litestar,
) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_grants", customer)
    async with app.state.db.unit_of_work() as session:
        grant = await consent_grant_for(session, consent.id, db=app.state.db)
    assert grant.subject_uscc == customer.enterprise.uscc
    assert grant.permits("tax", ["vat_returns"])
    assert grant.missing_items("payroll", ["payroll_summary", "social_insurance"]) == {
        "social_insurance"
    }
    assert await grant.still_valid()
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = await session.get(Consent, consent.id)
        assert row is not None
        await revoke_consent(session, board_of(app.state), row, actor="customer", issuer="x")
    assert not await grant.still_valid()  # the same grant object sees the revocation
    async with app.state.db.unit_of_work() as session:
        with pytest.raises(ProblemError) as refused:
            await consent_grant_for(session, consent.id)
        assert refused.value.kind is CONSENT_INACTIVE
        assert not await consent_is_active(session, consent.id)
