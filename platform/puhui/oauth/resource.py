# ruff: noqa: A005 - the name the gateway pipeline was promised (puhui.oauth.resource)
"""The resource side: who is calling with an access token (gateway pipeline step 3).

Verifies the RFC 9068 JWT (through the verified-token cache), the revocation list on every
call, and for DPoP-bound tokens a fresh proof for this very request (RFC 9449 7). Failures are
RFC 9457 problems with the RFC 6750 / RFC 9449 `WWW-Authenticate` challenge.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from puhui.clock import utcnow
from puhui.errors import ProblemError, register_problem
from puhui.oauth.dpop import DPOP_ALGORITHMS, DPoPError, confirm_binding, single_proof
from puhui.oauth.jwt_tokens import AccessTokenClaims, InvalidAccessToken
from puhui.oauth.models import ClientStatus, OAuthClient
from puhui.oauth.runtime import OAuthRuntime, oauth_runtime
from puhui.tenancy.models import Tenant, TenantKind, TenantStatus
from puhui.tenancy.subject import AuthSubject

__all__ = ["INVALID_DPOP_PROOF", "INVALID_TOKEN", "authenticate_bearer"]

INVALID_TOKEN = register_problem(
    "invalid-token",
    "Invalid access token",
    401,
    "The access token is malformed, expired, revoked or not issued for this API.",
)
INVALID_DPOP_PROOF = register_problem(
    "invalid-dpop-proof",
    "Invalid DPoP proof",
    401,
    "The DPoP proof is missing or does not match this request and access token.",
)
_ALGS: Final = " ".join(sorted(DPOP_ALGORITHMS))
_DIRECTORY_TTL: Final = timedelta(seconds=30)
_DIRECTORY_KEY: Final = "oauth_client_directory"


@dataclass(frozen=True, slots=True)
class _Standing:
    tenant_kind: TenantKind
    tenant_status: TenantStatus
    client_active: bool
    checked_at: datetime


class _ClientDirectory:
    """Tenant kind and status and client standing per client_id, re-read every 30 seconds."""

    def __init__(self) -> None:
        self._entries: dict[str, _Standing] = {}

    async def standing(self, state: Any, client_id: str, tenant_id: uuid.UUID) -> _Standing | None:
        now = utcnow()
        entry = self._entries.get(client_id)
        if entry is not None and now - entry.checked_at < _DIRECTORY_TTL:
            return entry
        async with state.db.unit_of_work(tenant_id) as session:
            row = (
                await session.execute(
                    select(OAuthClient.status, Tenant.kind, Tenant.status)
                    .join(Tenant, Tenant.id == OAuthClient.tenant_id)
                    .where(OAuthClient.client_id == client_id)
                )
            ).first()
        if row is None:
            self._entries.pop(client_id, None)
            return None
        if len(self._entries) > 10_000:
            self._entries.clear()
        entry = _Standing(
            tenant_kind=row[1],
            tenant_status=row[2],
            client_active=row[0] is not ClientStatus.REVOKED,
            checked_at=now,
        )
        self._entries[client_id] = entry
        return entry


def _challenge(scheme: str, error: str, description: str) -> dict[str, str]:
    value = f'{scheme} error="{error}", error_description="{description}"'
    if scheme == "DPoP":
        value += f', algs="{_ALGS}"'
    return {"WWW-Authenticate": value}


def _token_refused(scheme: str, reason: str) -> ProblemError:
    return ProblemError(
        f"The access token was refused: {reason}.",
        problem=INVALID_TOKEN,
        headers=_challenge(scheme, "invalid_token", reason),
    )


def _proof_refused(reason: str) -> ProblemError:
    return ProblemError(
        f"The DPoP proof was refused: {reason}.",
        problem=INVALID_DPOP_PROOF,
        headers=_challenge("DPoP", "invalid_dpop_proof", reason),
    )


def _dpop_headers(scope: Mapping[str, Any]) -> list[str]:
    return [
        v.decode("latin-1") for k, v in scope["headers"] if len(k) == 4 and k.lower() == b"dpop"
    ]


async def _check_proof(
    runtime: OAuthRuntime, scope: Mapping[str, Any], token: str, claims: AccessTokenClaims
) -> None:
    try:
        proof = await runtime.resource_dpop.verify(
            single_proof(_dpop_headers(scope)),
            method=scope["method"],
            uri=runtime.issuer + scope["path"],
            access_token=token,
        )
        confirm_binding(claims.jkt, proof)
    except DPoPError as exc:
        raise _proof_refused(exc.description) from exc


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else _parse_uuid(value)


@functools.lru_cache(maxsize=4096)  # the same tenant (and consent) ids on every call; immutable
def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def authenticate_bearer(
    scope: Mapping[str, Any], headers: Mapping[str, str]
) -> AuthSubject | None:
    """The OAuth client calling with `Authorization: DPoP|Bearer <jwt>`; None without one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    kind = scheme.lower()
    if kind not in {"bearer", "dpop"}:
        return None
    challenge = "DPoP" if kind == "dpop" else "Bearer"
    token = token.strip()
    state = scope["litestar_app"].state
    runtime = oauth_runtime(state)
    try:
        claims = runtime.verifier.verify(token)
    except InvalidAccessToken as exc:
        raise _token_refused(challenge, exc.reason) from exc
    # Checked on cache hits too: a revoked token or client stops at once (RFC 7009 2)
    if await runtime.revocations.is_revoked(claims.jti, claims.client_id):
        raise _token_refused(challenge, "token revoked")
    if claims.jkt is not None:
        if kind != "dpop":  # RFC 9449 7.1: a bound token is presented with the DPoP scheme
            raise _token_refused("DPoP", "a DPoP-bound token needs the DPoP scheme")
        await _check_proof(runtime, scope, token, claims)
    elif kind == "dpop":
        raise _token_refused("DPoP", "the token is not DPoP-bound")
    tenant_id = _uuid(claims.tenant_id)
    if tenant_id is None:
        raise _token_refused(challenge, "malformed tenant")
    directory = state.get(_DIRECTORY_KEY)
    if directory is None:
        directory = state[_DIRECTORY_KEY] = _ClientDirectory()
    standing = await directory.standing(state, claims.client_id, tenant_id)
    if standing is None or not standing.client_active:
        raise _token_refused(challenge, "client revoked")
    scope_state = scope.setdefault("state", {})  # type: ignore[attr-defined]
    scope_state["tenant_status"] = standing.tenant_status
    consent_id = _uuid(claims.consent_id)
    return AuthSubject(
        kind="client",
        tenant_id=tenant_id,
        tenant_kind=standing.tenant_kind,
        client_id=claims.client_id,
        scopes=claims.scope,
        consent_id=consent_id,
        customer_id=_uuid(claims.subject) if consent_id is not None else None,
    )
