"""Sandbox credentials on sign-up: the verified owner's organisation gets a sandbox OAuth client
(client_secret_basic, shown once) against the seeded personas and simulators."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.db.session import set_tenant
from puhui.gateway.client_profiles import signing_secret_aad
from puhui.gateway.meta import api_catalogue
from puhui.oauth.clients import ClientRegistry
from puhui.oauth.models import ClientAuthMethod
from puhui.oauth.schemas import ClientCreate
from puhui.security.keyring import keyring
from puhui.tenancy.models import Member, Tenant
from puhui.tenancy.subject import AuthSubject

__all__ = [
    "SANDBOX_APP_NAME",
    "SandboxCredentials",
    "catalogue_scopes",
    "issue_sandbox_credentials",
]

SANDBOX_APP_NAME = "Sandbox app"
SANDBOX_REDIRECT = "http://127.0.0.1:8765/callback"


@dataclass(frozen=True)
class SandboxCredentials:
    client_id: str
    client_secret: str | None
    # HMAC-SHA256 key for RFC 9421 signatures on A1 APIs (JR/T 0185), shown once like the secret
    signing_secret: str
    scopes: list[str]


def catalogue_scopes(request: Request[Any, Any, Any]) -> list[str]:
    """Every scope an API in the catalogue asks for: what a sandbox app may try."""
    return sorted({scope for entry in api_catalogue(request.app) for scope in entry.scopes})


async def issue_sandbox_credentials(
    request: Request[Any, Any, Any], session: AsyncSession, tenant: Tenant, member: Member
) -> SandboxCredentials:
    """Register the organisation's first sandbox client on its owner's behalf."""
    owner = AuthSubject(
        kind="member",
        tenant_id=tenant.id,
        tenant_kind=tenant.kind,
        member_id=member.id,
        roles=frozenset(member.roles),
    )
    set_tenant(session, tenant.id)  # the page was anonymous; the new rows are this tenant's
    scopes = catalogue_scopes(request)
    client, secret = await ClientRegistry(session, owner).create(
        ClientCreate(
            name=SANDBOX_APP_NAME,
            auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
            redirect_uris=[SANDBOX_REDIRECT],
            grant_types=["authorization_code", "client_credentials", "refresh_token"],
            scopes=scopes,
        )
    )
    signing_secret = secrets.token_bytes(32)
    client.signing_secret_enc = keyring().encrypt(signing_secret, signing_secret_aad(client.id))
    await session.flush()
    return SandboxCredentials(
        client.client_id,
        secret,
        base64.urlsafe_b64encode(signing_secret).decode().rstrip("="),
        list(client.scopes),
    )
