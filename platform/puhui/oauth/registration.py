"""RFC 7591 dynamic client registration, admitted only with a software statement the bank signed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import set_tenant
from puhui.errors import InvalidRequest
from puhui.oauth.clients import new_client_id, validate_jwks, validate_redirect_uris
from puhui.oauth.models import ClientAuthMethod, ClientEnvironment, ClientStatus, OAuthClient
from puhui.oauth.protocol import OAuthError
from puhui.oauth.runtime import OAuthRuntime
from puhui.oauth.schemas import DynamicRegistration
from puhui.oauth.software_statement import InvalidSoftwareStatement, verify_software_statement
from puhui.tenancy.models import Tenant, TenantStatus

__all__ = ["register_client"]

_STATEMENT_JTI = "software-statement:"


def _refuse(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


async def register_client(
    session: AsyncSession, runtime: OAuthRuntime, data: DynamicRegistration
) -> dict[str, Any]:
    """Create a sandbox client from a verified statement; the RFC 7591 3.2.1 response body."""
    try:
        statement = verify_software_statement(
            data.software_statement, runtime.statement_keys, issuer=runtime.issuer
        )
    except InvalidSoftwareStatement as exc:
        raise OAuthError(exc.error, exc.description) from exc
    try:
        tenant_id = uuid.UUID(statement.tenant_id)
    except ValueError as exc:
        raise OAuthError("invalid_software_statement", "tenant_id is not a UUID") from exc
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None or tenant.status is not TenantStatus.ACTIVE:
        raise OAuthError("unapproved_software_statement", "the partner is not active")
    if statement.token_endpoint_auth_method != ClientAuthMethod.PRIVATE_KEY_JWT.value:
        raise _refuse("dynamically registered clients use private_key_jwt")
    jwks_uri = statement.jwks_uri or data.jwks_uri
    if (data.jwks is None) == (jwks_uri is None):
        raise _refuse("give exactly one of jwks and jwks_uri")
    try:
        jwks = validate_jwks(data.jwks) if data.jwks is not None else None
        redirect_uris = validate_redirect_uris(statement.redirect_uris, sandbox=tenant.is_sandbox)
    except InvalidRequest as exc:
        raise _refuse(exc.errors[0].message if exc.errors else exc.detail) from exc
    # A statement registers one client (RFC 7591 2.3 jti): remembered until it expires, in the
    # shared replay cache (Redis when configured). Checked last, so a refused request keeps it.
    expires_at = statement.expires_at or utcnow()
    if not await runtime.replay.remember(_STATEMENT_JTI + statement.jti, expires_at):
        raise OAuthError("invalid_software_statement", "the software statement was already used")
    set_tenant(session, tenant.id)
    client = OAuthClient(
        tenant_id=tenant.id,
        client_id=new_client_id(),
        name=statement.client_name,
        environment=ClientEnvironment.SANDBOX,
        status=ClientStatus.ACTIVE,
        auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
        redirect_uris=redirect_uris,
        grant_types=sorted(set(statement.grant_types)),
        scopes=sorted(statement.scope),
        jwks=jwks,
        jwks_uri=jwks_uri,
        ip_allowlist=[],
        rate_plan="sandbox",
        require_dpop=False,
        software_id=statement.software_id,
    )
    session.add(client)
    await session.flush()
    record_event(
        session,
        "oauth.client_registered",
        actor_tenant_id=tenant.id,
        target_tenant_id=tenant.id,
        target=f"oauth_client:{client.client_id}",
        details={"software_id": statement.software_id},
    )
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "scope": " ".join(client.scopes),
        "token_endpoint_auth_method": client.auth_method.value,
        "software_id": statement.software_id,
        "software_statement": data.software_statement,
    }
    if jwks is not None:
        body["jwks"] = jwks
    if jwks_uri is not None:
        body["jwks_uri"] = jwks_uri
    return body
