"""OAuth clients: the partner applications registered by a tenant (JR/T 0185 client identity)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned, Versioned

__all__ = ["ClientAuthMethod", "ClientEnvironment", "ClientStatus", "OAuthClient"]


class ClientEnvironment(enum.StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    PRODUCTION_REQUESTED = "production_requested"  # sandbox client waiting for the bank's approval
    REVOKED = "revoked"


class ClientAuthMethod(enum.StrEnum):
    PRIVATE_KEY_JWT = "private_key_jwt"
    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 - a method name; sandbox only


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class OAuthClient(TenantOwned, Versioned, Base):
    """A registered client. Secrets are stored only as hashes (or encrypted, for HMAC signing)."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    environment: Mapped[ClientEnvironment] = mapped_column(
        _enum(ClientEnvironment, "client_environment")
    )
    status: Mapped[ClientStatus] = mapped_column(_enum(ClientStatus, "client_status"))
    auth_method: Mapped[ClientAuthMethod] = mapped_column(
        _enum(ClientAuthMethod, "client_auth_method")
    )
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    # client_secret_basic (sandbox): current and previous hash; the previous one
    # stays valid until the rotation overlap ends
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(255))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    # HMAC-SHA256 request-signing secret for A1 APIs (JR/T 0185), encrypted at rest
    signing_secret_enc: Mapped[str | None] = mapped_column(String(512))
    ip_allowlist: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate_plan: Mapped[str] = mapped_column(String(32), default="sandbox")
    require_dpop: Mapped[bool] = mapped_column(default=True)
    software_id: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column()
