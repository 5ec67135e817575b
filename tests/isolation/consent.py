"""Isolation builders for consents (routes for OAuth clients: audience "client").

The matrix must call these routes as an OAuth client of the attacking tenant
(``tests.oauth_builders.client_caller(app, tenant, ["consents"])``); a portal member is refused
by audience before tenancy is even consulted.
"""

from __future__ import annotations

from litestar import Litestar

from puhui.consent.models import Consent
from puhui.tenancy.models import Tenant
from tests.consent_builders import random_uscc, request_consent
from tests.isolation.registry import Victim, register_body, register_builder


@register_builder("consent")
async def consent(app: Litestar, tenant: Tenant) -> Victim:
    row = await request_consent(app, tenant, "ph_victim_client", random_uscc())
    return Victim({"consent_id": str(row.id)}, Consent, row.id)


register_body("RevokeConsent", {"reason": "revoked by an attacker"})
