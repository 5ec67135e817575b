"""The token endpoint (RFC 6749 3.2): client auth, DPoP, then authlib's grant logic, then storage.

Each async step that needs I/O runs before or after authlib; authlib itself only sees the
prefetched `TokenContext` (see `puhui.oauth.server`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import set_tenant
from puhui.oauth.client_auth import authenticate_client
from puhui.oauth.consent_link import consent_is_active
from puhui.oauth.dpop import DPOP_NONCE_HEADER, DPoPError, UseDPoPNonce, single_proof
from puhui.oauth.families import revoke_family
from puhui.oauth.jwt_tokens import hash_token
from puhui.oauth.models import ClientEnvironment, OAuthClient, RefreshToken
from puhui.oauth.protocol import OAuthError
from puhui.oauth.repository import ClientRepository, GrantRepository, RefreshTokenRepository
from puhui.oauth.runtime import OAuthRuntime
from puhui.oauth.server import AuthenticatedClient, EndpointRequest, TokenContext

__all__ = [
    "REFRESH_TOKEN_LIFETIME",
    "TOKEN_PATH",
    "exchange",
    "requires_dpop",
    "verify_dpop",
]

TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 - a path
REFRESH_TOKEN_LIFETIME: Final = timedelta(days=30)


def requires_dpop(client: OAuthClient) -> bool:
    """Production clients must use DPoP (FAPI 2.0 5.3.2.1: sender-constrained tokens)."""
    return client.environment is ClientEnvironment.PRODUCTION or client.require_dpop


async def verify_dpop(
    runtime: OAuthRuntime, proofs: Sequence[str], path: str, client: OAuthClient
) -> str | None:
    """The proof key's thumbprint, None without a proof; errors per RFC 9449 7.1 and 8."""
    if not proofs:
        if requires_dpop(client):
            raise OAuthError("invalid_dpop_proof", "this client must send a DPoP proof")
        return None
    try:
        proof = await runtime.token_dpop.verify(
            single_proof(proofs), method="POST", uri=runtime.issuer + path
        )
    except UseDPoPNonce as exc:
        raise OAuthError(
            "use_dpop_nonce", exc.description, headers={DPOP_NONCE_HEADER: exc.nonce}
        ) from exc
    except DPoPError as exc:
        raise OAuthError("invalid_dpop_proof", exc.description) from exc
    return proof.jkt


async def _prefetch_code(
    session: AsyncSession, runtime: OAuthRuntime, context: TokenContext, code: str | None
) -> None:
    client = context.client
    assert client is not None  # noqa: S101 - set by the caller
    if not code:
        return
    grants = GrantRepository(session)
    grant = await grants.by_code_hash(hash_token(code))
    if grant is None or grant.client_id != client.client_id:
        return  # authlib answers invalid_grant
    if not await grants.claim_code(grant.id, utcnow()):
        # RFC 6749 4.1.2: a code used twice revokes what was issued from it
        await revoke_family(session, runtime, grant, "authorization code replayed")
        raise OAuthError("invalid_grant", "the authorization code was already used")
    if grant.dpop_jkt is not None and grant.dpop_jkt != context.dpop_jkt:
        raise OAuthError("invalid_grant", "the code is bound to another DPoP key")  # RFC 9449 10
    if not await consent_is_active(session, grant.consent_id):
        raise OAuthError("invalid_grant", "the consent is no longer authorised")
    context.grant = grant


async def _prefetch_refresh(
    session: AsyncSession, runtime: OAuthRuntime, context: TokenContext, token: str | None
) -> None:
    client = context.client
    assert client is not None  # noqa: S101 - set by the caller
    if not token:
        return
    tokens = RefreshTokenRepository(session)
    row = await tokens.by_hash(hash_token(token))
    if row is None:
        return
    grant = await GrantRepository(session).get(row.grant_id)
    if grant.client_id != client.client_id:
        return
    if not await tokens.rotate(row.id, utcnow()):
        # OAuth 2.0 Security BCP 4.14.2: a rotated refresh token came back: revoke the family
        await revoke_family(session, runtime, grant, "refresh token replayed")
        raise OAuthError("invalid_grant", "the refresh token was already used")
    if grant.revoked_at is not None:
        raise OAuthError("invalid_grant", "the grant was revoked")
    if grant.dpop_jkt is not None and grant.dpop_jkt != context.dpop_jkt:
        raise OAuthError("invalid_grant", "the refresh token is bound to another DPoP key")
    if not await consent_is_active(session, grant.consent_id):
        raise OAuthError("invalid_grant", "the consent is no longer authorised")
    context.grant, context.refresh = grant, row


def _persist(session: AsyncSession, context: TokenContext) -> None:
    grant, issued = context.grant, context.issued
    if grant is None or issued is None:
        return
    now = utcnow()
    live = [t for t in grant.access_tokens if t["exp"] > now.timestamp()]
    live.append({"jti": issued.claims.jti, "exp": int(issued.claims.expires_at.timestamp())})
    grant.access_tokens = live  # reassigned so the ORM sees the change
    if grant.dpop_jkt is None and context.dpop_jkt is not None:
        # The family stays with the key that redeemed the code: refreshes must prove it too.
        grant.dpop_jkt = context.dpop_jkt
    if context.refresh_token is not None:
        session.add(
            RefreshToken(
                tenant_id=grant.tenant_id,
                grant_id=grant.id,
                token_hash=hash_token(context.refresh_token),
                expires_at=now + REFRESH_TOKEN_LIFETIME,
            )
        )


async def exchange(
    session: AsyncSession,
    runtime: OAuthRuntime,
    form: Mapping[str, str],
    headers: Mapping[str, str],
    proofs: Sequence[str],
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Answer one token request: (status, JSON body, headers). Raises `OAuthError`."""
    client = await authenticate_client(runtime, ClientRepository(session), form, headers)
    set_tenant(session, client.tenant_id)
    jkt = await verify_dpop(runtime, proofs, TOKEN_PATH, client)
    context = TokenContext(
        runtime=runtime,
        client=AuthenticatedClient(client),
        auth_method=client.auth_method.value,
        dpop_jkt=jkt,
    )
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        await _prefetch_code(session, runtime, context, form.get("code"))
    elif grant_type == "refresh_token":
        await _prefetch_refresh(session, runtime, context, form.get("refresh_token"))
    request = EndpointRequest("POST", runtime.issuer + TOKEN_PATH, form, headers, context)
    status, body, out_headers = runtime.server.create_token_response(request)
    if status == 200:
        _persist(session, context)
    return status, body, out_headers
