"""Request and response shapes of the OAuth client admin API and dynamic registration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from puhui.oauth.models import ClientAuthMethod, ClientEnvironment, ClientStatus

__all__ = [
    "CallerRead",
    "ClientCreate",
    "ClientCreated",
    "ClientRead",
    "ClientUpdate",
    "DynamicRegistration",
    "ProductionApproval",
    "SecretRotated",
]

RedirectUri = Annotated[str, msgspec.Meta(min_length=8, max_length=500)]
Scope = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.:\-]{0,63}$")]
Cidr = Annotated[str, msgspec.Meta(min_length=3, max_length=64)]
GrantType = Literal["authorization_code", "client_credentials", "refresh_token"]


class ClientCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    auth_method: ClientAuthMethod = ClientAuthMethod.PRIVATE_KEY_JWT
    redirect_uris: Annotated[list[RedirectUri], msgspec.Meta(max_length=10)] = []
    grant_types: Annotated[list[GrantType], msgspec.Meta(min_length=1, max_length=3)] = (
        msgspec.field(default_factory=lambda: ["client_credentials"])
    )
    scopes: Annotated[list[Scope], msgspec.Meta(max_length=50)] = []
    jwks: dict[str, Any] | None = None
    jwks_uri: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    ip_allowlist: Annotated[list[Cidr], msgspec.Meta(max_length=50)] = []


class ClientUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: int
    redirect_uris: Annotated[list[RedirectUri], msgspec.Meta(max_length=10)] | None = None
    scopes: Annotated[list[Scope], msgspec.Meta(max_length=50)] | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    ip_allowlist: Annotated[list[Cidr], msgspec.Meta(max_length=50)] | None = None


class ClientRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    client_id: str
    name: str
    environment: ClientEnvironment
    status: ClientStatus
    auth_method: ClientAuthMethod
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    ip_allowlist: list[str]
    require_dpop: bool
    software_id: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    version: int


class ClientCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new client; `client_secret` appears here once and is never shown again."""

    client: ClientRead
    client_secret: str | None = None


class SecretRotated(msgspec.Struct, frozen=True, kw_only=True):
    client_secret: str
    previous_secret_valid_until: datetime


class ProductionApproval(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]


class DynamicRegistration(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 7591 2 metadata; the bank-signed `software_statement` takes precedence (3.1.1)."""

    software_statement: Annotated[str, msgspec.Meta(min_length=10, max_length=16_384)]
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    client_name: str | None = None
    redirect_uris: list[str] | None = None


class CallerRead(msgspec.Struct, frozen=True, kw_only=True):
    """What the platform knows of the OAuth caller from its access token."""

    client_id: str
    tenant_id: uuid.UUID
    scopes: list[str]
    consent_id: uuid.UUID | None
    customer_id: uuid.UUID | None
