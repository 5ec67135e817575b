"""Isolation builders for OAuth clients (the admin API addresses them by row id)."""

from __future__ import annotations

from litestar import Litestar

from puhui.oauth.models import OAuthClient
from puhui.tenancy.models import Tenant
from tests.isolation.registry import Victim, register_body, register_builder
from tests.oauth_builders import EcKey, create_client


@register_builder("oauth_client")
async def oauth_client(app: Litestar, tenant: Tenant) -> Victim:
    registered = await create_client(app, tenant)
    return Victim({"client_id": str(registered.row.id)}, OAuthClient, registered.row.id)


register_body(
    "UpdateOAuthClient",
    {
        "version": 1,
        "redirect_uris": ["https://attacker.example/cb"],
        "jwks": {"keys": [EcKey().public_jwk]},
        "scopes": ["loans.write"],
    },
)
