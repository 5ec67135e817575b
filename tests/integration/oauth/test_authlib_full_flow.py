"""Acceptance item 10: authlib's own OAuth client drives the complete flow against the app.

PAR -> authorize -> customer login + OTP -> consent -> code -> token (private_key_jwt + DPoP)
-> protected call -> refresh rotation -> the customer revokes the consent -> the next call fails
(in this worker and in a second one), refresh fails, and the token families are revoked.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_tenant
from tests.conftest import http_client
from tests.consent_builders import create_customer, customer_revokes_in_the_centre
from tests.integration.oauth.fapi_flow import (
    call_is_refused_for_revocation,
    call_succeeds,
    grant_through_the_browser,
    partner_requests_consent,
    refresh_rotates,
)
from tests.oauth_builders import FapiClient, create_client

from puhui.app import create_app
from puhui.db.session import tenant_bypass
from puhui.oauth.models import OAuthGrant
from puhui.webhooks.models import PartnerEvent

pytestmark = pytest.mark.anyio


def _fapi(app: Litestar, registered: object) -> FapiClient:
    return FapiClient(registered, transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]


async def test_authlib_client_drives_the_complete_flow(
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
        consent_id = await partner_requests_consent(oauth, customer)
        granted = await grant_through_the_browser(
            app, oauth, http_client(app), customer, consent_id
        )
        assert granted.redirect_query["state"]
        await call_succeeds(oauth, consent_id, customer)
        first_refresh = str(oauth.token["refresh_token"])
        await refresh_rotates(oauth)
        await call_succeeds(oauth, consent_id, customer)

        other_worker = create_app(app.state.settings)
        async with other_worker.lifespan(), _fapi(other_worker, registered) as elsewhere:
            elsewhere.dpop = oauth.dpop  # the same partner, its same key, on another worker
            elsewhere.token = oauth.token
            await call_succeeds(elsewhere, consent_id, customer)

            revoked = await customer_revokes_in_the_centre(
                app, http_client(app), customer, consent_id
            )
            assert revoked.status_code == 303, revoked.text
            await call_is_refused_for_revocation(oauth)
            await call_is_refused_for_revocation(elsewhere)

        with pytest.raises(OAuthError) as refused:
            await oauth.refresh_token()
        assert refused.value.error == "invalid_grant"
        with pytest.raises(OAuthError):  # the rotated-away token is dead as well
            await oauth.refresh_token(refresh_token=first_refresh)

    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.inspect"):
            grants = (
                await session.execute(
                    select(OAuthGrant).where(OAuthGrant.consent_id == uuid.UUID(consent_id))
                )
            ).scalars()
            revoked_at = [g.revoked_at for g in grants]
            assert revoked_at  # the code exchange made a token family ...
            assert None not in revoked_at  # ... and the revocation revoked every one
            events = (
                await session.execute(
                    select(PartnerEvent.event_type).where(
                        PartnerEvent.subject == f"consent:{consent_id}"
                    )
                )
            ).scalars()
            assert list(events) == ["consent.revoked"]
