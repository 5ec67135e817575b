"""RFC 7591 software statements signed by the bank, for dynamic client registration.

The bank signs a partner app's approved metadata when the partner is onboarded; at
registration the statement's values override what the request claims (RFC 7591 3.1.1).
Sign with a keyset of its own purpose whose `retain_for` covers the statement lifetime.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from puhui.clock import utcnow
from puhui.oauth.jwt_tokens import SignedJWTRejected, decode_signed_by_keyset, sign_with_keyset
from puhui.oauth.keys import KeysetSource

__all__ = [
    "SOFTWARE_STATEMENT_TYP",
    "InvalidSoftwareStatement",
    "SoftwareStatement",
    "issue_software_statement",
    "verify_software_statement",
]

SOFTWARE_STATEMENT_TYP: Final = "software-statement+jwt"
DEFAULT_STATEMENT_LIFETIME: Final = timedelta(days=365)


class InvalidSoftwareStatement(Exception):
    """RFC 7591 3.2.2 `invalid_software_statement` / `unapproved_software_statement`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class SoftwareStatement:
    """The client metadata the bank vouches for, per partner (tenant) and software."""

    software_id: str
    tenant_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    scope: frozenset[str]
    jwks_uri: str | None = None
    software_version: str | None = None
    token_endpoint_auth_method: str = "private_key_jwt"  # noqa: S105  # a method name
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    jti: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # When the signed statement lapses (set by `verify_software_statement`): how long its `jti`
    # must be remembered for single use. Not part of the vouched metadata, so not compared.
    expires_at: datetime | None = field(default=None, compare=False)

    def registration_metadata(self) -> dict[str, Any]:
        """The statement as RFC 7591 client metadata (plus `tenant_id`)."""
        metadata: dict[str, Any] = {
            "software_id": self.software_id,
            "tenant_id": self.tenant_id,
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "scope": " ".join(sorted(self.scope)),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types),
        }
        if self.jwks_uri is not None:
            metadata["jwks_uri"] = self.jwks_uri
        if self.software_version is not None:
            metadata["software_version"] = self.software_version
        return metadata

    def override(self, requested: Mapping[str, Any]) -> dict[str, Any]:
        """Registration request metadata with the statement's values taking precedence."""
        return {**requested, **self.registration_metadata()}


def issue_software_statement(
    keys: KeysetSource,
    statement: SoftwareStatement,
    *,
    issuer: str,
    lifetime: timedelta = DEFAULT_STATEMENT_LIFETIME,
) -> str:
    """Sign `statement` as a JWT issued by the bank (`iss` = the authorization server)."""
    now = utcnow().replace(microsecond=0)
    claims = {
        **statement.registration_metadata(),
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": statement.jti,
    }
    return sign_with_keyset(keys, claims, typ=SOFTWARE_STATEMENT_TYP)


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidSoftwareStatement("invalid_software_statement", f"{name} is missing")
    return value


def _optional_text(claims: Mapping[str, Any], name: str) -> str | None:
    return None if claims.get(name) is None else _text(claims, name)


def _text_list(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidSoftwareStatement("invalid_software_statement", f"{name} must be strings")
    return tuple(value)


def verify_software_statement(
    token: str,
    keys: KeysetSource,
    *,
    issuer: str,
    algorithms: Collection[str] = ("ES256",),
) -> SoftwareStatement:
    """The statement if the bank signed it and it is unexpired; else `InvalidSoftwareStatement`."""
    now = utcnow()
    try:
        _, claims = decode_signed_by_keyset(
            token, keys, typ=SOFTWARE_STATEMENT_TYP, algorithms=algorithms, now=now
        )
    except SignedJWTRejected as exc:
        raise InvalidSoftwareStatement("invalid_software_statement", exc.reason) from exc
    if claims.get("iss") != issuer:
        raise InvalidSoftwareStatement("unapproved_software_statement", "not issued by this bank")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidSoftwareStatement("invalid_software_statement", "exp is required")
    if now >= datetime.fromtimestamp(exp, UTC):
        raise InvalidSoftwareStatement("invalid_software_statement", "statement expired")
    return SoftwareStatement(
        software_id=_text(claims, "software_id"),
        tenant_id=_text(claims, "tenant_id"),
        client_name=_text(claims, "client_name"),
        redirect_uris=_text_list(claims, "redirect_uris"),
        scope=frozenset(_text(claims, "scope").split()),
        jwks_uri=_optional_text(claims, "jwks_uri"),
        software_version=_optional_text(claims, "software_version"),
        token_endpoint_auth_method=_text(claims, "token_endpoint_auth_method"),
        grant_types=_text_list(claims, "grant_types"),
        jti=_text(claims, "jti"),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )
