"""Client registration rules: who may register what, secrets, keys and the road to production."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, Forbidden, InvalidRequest
from puhui.identity.passwords import hash_password
from puhui.oauth.keys import PRIVATE_JWK_MEMBERS, InvalidJWK, public_key_from_jwk
from puhui.oauth.models import (
    ClientAuthMethod,
    ClientEnvironment,
    ClientStatus,
    OAuthClient,
)
from puhui.oauth.repository import ClientRepository
from puhui.oauth.schemas import ClientCreate, ClientUpdate
from puhui.tenancy.repository import TenantRepository
from puhui.tenancy.subject import AuthSubject

__all__ = [
    "SECRET_OVERLAP",
    "ClientRegistry",
    "OperatorClientApproval",
    "new_client_id",
    "validate_jwks",
    "validate_redirect_uris",
]

SECRET_OVERLAP: Final = timedelta(hours=24)
_ALG_FOR_KTY: Final[Mapping[str, str]] = {"EC": "ES256", "RSA": "PS256", "OKP": "EdDSA"}
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def new_client_id() -> str:
    return "ph_" + secrets.token_urlsafe(16)


def _new_secret() -> str:
    return "phs_" + secrets.token_urlsafe(32)


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(errors=[FieldError(field, message)])


def validate_redirect_uris(uris: Sequence[str], *, sandbox: bool) -> list[str]:
    """Absolute https URIs without fragment (http only on loopback, in the sandbox)."""
    for uri in uris:
        try:
            parts = urlsplit(uri)
        except ValueError as exc:
            raise _bad("redirect_uris", f"not a URI: {uri[:80]!r}") from exc
        loopback = sandbox and parts.scheme == "http" and parts.hostname in _LOOPBACK
        if (parts.scheme != "https" and not loopback) or not parts.netloc or parts.fragment:
            raise _bad("redirect_uris", "use absolute https URIs without a fragment")
    return list(dict.fromkeys(uris))


def validate_jwks(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """A JWKS of public signing keys only: usable, at most 10, no private members."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= 10:
        raise _bad("jwks", "a JWKS with 1 to 10 keys is required")
    for key in keys:
        if not isinstance(key, dict) or PRIVATE_JWK_MEMBERS.intersection(key):
            raise _bad("jwks", "publish public keys only")
        alg = key.get("alg") or _ALG_FOR_KTY.get(str(key.get("kty")))
        if not isinstance(alg, str):
            raise _bad("jwks", "unsupported key type")
        try:
            public_key_from_jwk(key, alg)
        except (InvalidJWK, ValueError) as exc:
            raise _bad("jwks", f"unusable key: {exc}") from exc
    return {"keys": keys}


def _validate_jwks_uri(uri: str, *, sandbox: bool) -> str:
    parts = urlsplit(uri)
    if parts.scheme != "https" and not (sandbox and parts.scheme == "http"):
        raise _bad("jwks_uri", "jwks_uri must be https")
    if not parts.netloc:
        raise _bad("jwks_uri", "jwks_uri must be absolute")
    return uri


def _validate_cidrs(cidrs: Sequence[str]) -> list[str]:
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise _bad("ip_allowlist", f"not a CIDR: {cidr[:64]!r}") from exc
    return list(dict.fromkeys(cidrs))


class ClientRegistry:
    """A partner's own OAuth clients (the member's tenant; scoping does the rest)."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.clients = ClientRepository(session)

    async def page(self, limit: int, offset: int) -> Sequence[OAuthClient]:
        return await self.clients.page(limit, offset)

    async def get(self, id_: uuid.UUID) -> OAuthClient:
        return await self.clients.get(id_)

    async def create(self, data: ClientCreate) -> tuple[OAuthClient, str | None]:
        """A new sandbox client; the secret (client_secret_basic only) is returned once."""
        tenant = await TenantRepository(self.session).get(self.subject.tenant_id)
        secret: str | None = None
        client = OAuthClient(
            tenant_id=self.subject.tenant_id,
            client_id=new_client_id(),
            name=data.name,
            environment=ClientEnvironment.SANDBOX,
            status=ClientStatus.ACTIVE,
            auth_method=data.auth_method,
            redirect_uris=validate_redirect_uris(data.redirect_uris, sandbox=True),
            grant_types=sorted(set(data.grant_types)),
            scopes=sorted(set(data.scopes)),
            ip_allowlist=_validate_cidrs(data.ip_allowlist),
            rate_plan="sandbox",
            require_dpop=False,
        )
        if "authorization_code" in client.grant_types and not client.redirect_uris:
            raise _bad("redirect_uris", "the authorization code grant needs a redirect URI")
        if data.auth_method is ClientAuthMethod.CLIENT_SECRET_BASIC:
            if not tenant.is_sandbox:  # FAPI 2.0 5.3.2.1: no shared secrets in production
                raise Forbidden("client_secret_basic is for sandbox organisations only.")
            if data.jwks is not None or data.jwks_uri is not None:
                raise _bad("jwks", "a client_secret_basic client has no keys")
            secret = _new_secret()
            client.secret_hash = await anyio.to_thread.run_sync(hash_password, secret)
        else:
            self._set_keys(client, data.jwks, data.jwks_uri)
        self.clients.add(client)
        await self.clients.flush()
        self._audit("oauth.client_created", client, {"auth_method": client.auth_method.value})
        return client, secret

    def _set_keys(
        self, client: OAuthClient, jwks: Mapping[str, Any] | None, jwks_uri: str | None
    ) -> None:
        if (jwks is None) == (jwks_uri is None):
            raise _bad("jwks", "give exactly one of jwks and jwks_uri for private_key_jwt")
        client.jwks = validate_jwks(jwks) if jwks is not None else None
        sandbox = client.environment is ClientEnvironment.SANDBOX
        client.jwks_uri = _validate_jwks_uri(jwks_uri, sandbox=sandbox) if jwks_uri else None

    async def update(self, id_: uuid.UUID, data: ClientUpdate) -> OAuthClient:
        client = await self._live(id_)
        if client.version != data.version:
            raise Conflict("The client changed since you read it; reload and retry.")
        sandbox = client.environment is ClientEnvironment.SANDBOX
        if data.redirect_uris is not None:
            client.redirect_uris = validate_redirect_uris(data.redirect_uris, sandbox=sandbox)
        if data.scopes is not None:
            client.scopes = sorted(set(data.scopes))
        if data.ip_allowlist is not None:
            client.ip_allowlist = _validate_cidrs(data.ip_allowlist)
        if data.jwks is not None or data.jwks_uri is not None:
            if client.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
                raise _bad("jwks", "only private_key_jwt clients have keys")
            self._set_keys(client, data.jwks, data.jwks_uri)
        await self.clients.flush()
        self._audit("oauth.client_updated", client, {})
        return client

    async def rotate_secret(self, id_: uuid.UUID) -> tuple[str, datetime]:
        """A new secret; the old one keeps working until the overlap ends."""
        client = await self._live(id_)
        if client.auth_method is not ClientAuthMethod.CLIENT_SECRET_BASIC:
            raise Conflict("Only client_secret_basic clients have a secret.")
        secret = _new_secret()
        until = utcnow() + SECRET_OVERLAP
        client.previous_secret_hash = client.secret_hash
        client.previous_secret_expires_at = until
        client.secret_hash = await anyio.to_thread.run_sync(hash_password, secret)
        await self.clients.flush()
        self._audit("oauth.client_secret_rotated", client, {"overlap_until": until.isoformat()})
        return secret, until

    async def revoke(self, id_: uuid.UUID) -> OAuthClient:
        client = await self.clients.get(id_)
        if client.status is not ClientStatus.REVOKED:
            client.status = ClientStatus.REVOKED
            client.revoked_at = utcnow()
            self._audit("oauth.client_revoked", client, {})
        await self.clients.flush()
        return client

    async def request_production(self, id_: uuid.UUID) -> OAuthClient:
        client = await self._live(id_)
        if client.environment is ClientEnvironment.PRODUCTION:
            raise Conflict("The client is already in production.")
        if client.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
            raise Conflict("Production clients authenticate with private_key_jwt.")
        client.status = ClientStatus.PRODUCTION_REQUESTED
        await self.clients.flush()
        self._audit("oauth.client_production_requested", client, {})
        return client

    async def _live(self, id_: uuid.UUID) -> OAuthClient:
        client = await self.clients.get(id_)
        if client.status is ClientStatus.REVOKED:
            raise Conflict("The client is revoked.")
        return client

    def _audit(self, action: str, client: OAuthClient, details: dict[str, Any]) -> None:
        record_event(
            self.session,
            action,
            subject=self.subject,
            target=f"oauth_client:{client.client_id}",
            target_tenant_id=client.tenant_id,
            details=details,
        )


class OperatorClientApproval:
    """Bank staff promote a client to production (DPoP required from then on), audited."""

    def __init__(self, session: AsyncSession, subject: AuthSubject, client_ip: str | None) -> None:
        self.session = session
        self.subject = subject
        self.client_ip = client_ip

    async def approve(self, id_: uuid.UUID, reason: str) -> OAuthClient:
        with tenant_bypass(self.session, reason="operator approves a client for production"):
            client = await ClientRepository(self.session).get(id_)
            if client.status is not ClientStatus.PRODUCTION_REQUESTED:
                raise Conflict("The partner has not requested production access.")
            client.environment = ClientEnvironment.PRODUCTION
            client.status = ClientStatus.ACTIVE
            client.require_dpop = True  # FAPI 2.0: sender-constrained tokens in production
            client.rate_plan = "production"
            await self.session.flush()
        record_event(
            self.session,
            "operator.oauth_client_approved",
            subject=self.subject,
            target_tenant_id=client.tenant_id,
            target=f"oauth_client:{client.client_id}",
            client_ip=self.client_ip,
            reason=reason,
        )
        return client
