"""OAuth clients: the partner applications registered by a tenant (JR/T 0185 client identity)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned, Versioned

__all__ = [
    "ClientAuthMethod",
    "ClientEnvironment",
    "ClientStatus",
    "OAuthClient",
    "OAuthGrant",
    "OAuthSharedEntry",
    "RefreshToken",
]


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


class OAuthGrant(TenantOwned, Base):
    """One authorization: the code a customer's consent produced, and the token family from it.

    The code is stored only as its hash, used once (RFC 6749 4.1.2) and lives 60 seconds; the
    access tokens issued from it are listed so that a replayed code revokes them (RFC 6749 10.5).
    """

    __tablename__ = "oauth_grants"

    client_id: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column()
    code_used_at: Mapped[datetime | None] = mapped_column()
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(1000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID] = mapped_column()
    consent_id: Mapped[uuid.UUID] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()
    # [{"jti": ..., "exp": epoch seconds}] of access tokens issued in this family
    access_tokens: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class RefreshToken(TenantOwned, Base):
    """A refresh token (hash only). Rotated on every use; presenting a rotated one revokes the
    whole family (OAuth 2.0 Security BCP 4.14.2)."""

    __tablename__ = "oauth_refresh_tokens"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()


class OAuthSharedEntry(Base):
    """One entry of the OAuth stores shared by the workers of one database (no Redis).

    Keys are namespaced (`jti:`, `par:`, `revoked:`, `revoked-client:`); `value` holds a pushed
    request (JSON) and is empty otherwise. Rows past `expires_at` are dead and purged by the job
    `oauth.purge-shared-state`.
    """

    __tablename__ = "oauth_shared_entries"

    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(index=True)
