"""Authorization-side rules: pushed requests, codes, introspection and revocation.

`redeem_request_uri` and `issue_authorization_code` are what the authorization endpoint (the
consent domain's pages) calls; see docs/oauth.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

from authlib.common.urls import add_params_to_uri
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import allow_cross_tenant_write, set_tenant
from puhui.oauth import par
from puhui.oauth.client_auth import authenticate_client
from puhui.oauth.consent_link import admit_pushed_request, consent_is_active
from puhui.oauth.families import revoke_family
from puhui.oauth.jwt_tokens import (
    REFRESH_TOKEN_PREFIX,
    InvalidAccessToken,
    hash_token,
    new_authorization_code,
)
from puhui.oauth.models import ClientStatus, OAuthGrant
from puhui.oauth.protocol import OAuthError
from puhui.oauth.repository import ClientRepository, GrantRepository, RefreshTokenRepository
from puhui.oauth.runtime import OAuthRuntime, oauth_runtime
from puhui.oauth.server import AuthenticatedClient, EndpointRequest, KnownToken, TokenContext
from puhui.oauth.token_endpoint import verify_dpop

__all__ = [
    "AUTHORIZATION_CODE_LIFETIME",
    "PAR_LIFETIME",
    "PAR_PATH",
    "introspect",
    "issue_authorization_code",
    "push_authorization_request",
    "redeem_request_uri",
    "revoke",
]

PAR_PATH: Final = "/oauth/par"
PAR_LIFETIME: Final = timedelta(seconds=90)  # <= 600 s (FAPI 2.0 5.3.2.2)
AUTHORIZATION_CODE_LIFETIME: Final = timedelta(seconds=60)  # FAPI 2.0 5.3.2.1 item 7


async def push_authorization_request(
    session: AsyncSession,
    runtime: OAuthRuntime,
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    proofs: Sequence[str],
) -> dict[str, str | int]:
    """RFC 9126 2: authenticate the client, validate and store the request; the 201 body."""
    form = dict(params)
    client = await authenticate_client(runtime, ClientRepository(session), form, headers)
    set_tenant(session, client.tenant_id)
    if "authorization_code" not in client.grant_types:
        raise OAuthError("unauthorized_client", "the client may not use the authorization code")
    registration = par.ClientRegistration(
        client_id=client.client_id,
        redirect_uris=frozenset(client.redirect_uris),
        allowed_scopes=frozenset(client.scopes),
    )
    try:
        request = par.validate_pushed_parameters(params, registration)
        jkt = await verify_dpop(runtime, proofs, PAR_PATH, client) if proofs else None
        if jkt is not None:
            # RFC 9449 10.1: a proof at PAR binds the code; a dpop_jkt sent too must agree
            if request.dpop_jkt not in (None, jkt):
                raise OAuthError("invalid_dpop_proof", "dpop_jkt does not match the proof key")
            request = _with_jkt(request, jkt)
        if request.consent_id is not None:
            await admit_pushed_request(session, client, request.consent_id)
        pushed = await par.push(runtime.pushed, request, lifetime=PAR_LIFETIME)
    except par.AuthorizationRequestError as exc:
        raise OAuthError(exc.error, exc.description) from exc
    return pushed.response()


def _with_jkt(request: par.AuthorizationRequest, jkt: str) -> par.AuthorizationRequest:
    return replace(request, dpop_jkt=jkt)


async def redeem_request_uri(
    state: State, request_uri: str, client_id: str
) -> par.PushedAuthorizationRequest:
    """Take the pushed request for the authorization endpoint: once, for its own client.

    Raises `par.AuthorizationRequestError` (`invalid_request_uri`) when unknown, used, expired
    or another client's.
    """
    runtime = oauth_runtime(state)
    if not request_uri.startswith(par.REQUEST_URI_PREFIX):
        raise par.AuthorizationRequestError("invalid_request_uri", "request_uri is not ours")
    pushed = await runtime.pushed.take(request_uri)  # consumed even if refused: single use
    if pushed is None:
        raise par.AuthorizationRequestError("invalid_request_uri", "request_uri unknown or used")
    if utcnow() >= pushed.expires_at:
        raise par.AuthorizationRequestError("invalid_request_uri", "request_uri has expired")
    if pushed.client_id != client_id:
        raise par.AuthorizationRequestError(
            "invalid_request_uri", "request_uri belongs to another client"
        )
    return pushed


async def issue_authorization_code(
    session: AsyncSession,
    state: State,
    par_request: par.PushedAuthorizationRequest,
    customer_id: uuid.UUID,
    consent_id: uuid.UUID,
) -> str:
    """Mint the code for a granted request; the redirect URL with `code`, `state` and `iss`."""
    runtime = oauth_runtime(state)
    request = par_request.request
    client = await ClientRepository(session).by_client_id(request.client_id)
    if client is None or client.status is ClientStatus.REVOKED:
        raise par.AuthorizationRequestError("unauthorized_client", "the client is not active")
    code = new_authorization_code()
    grant = OAuthGrant(
        tenant_id=client.tenant_id,
        client_id=client.client_id,
        code_hash=hash_token(code),  # only the hash is kept
        code_expires_at=utcnow() + AUTHORIZATION_CODE_LIFETIME,
        redirect_uri=request.redirect_uri,
        scope=" ".join(sorted(request.scope)),
        code_challenge=request.code_challenge,
        dpop_jkt=request.dpop_jkt,
        customer_id=customer_id,
        consent_id=consent_id,
        access_tokens=[],
    )
    allow_cross_tenant_write(grant, "authorization code belongs to the client's tenant")
    session.add(grant)
    await session.flush()
    params = [("code", code)]
    if request.state is not None:
        params.append(("state", request.state))
    params.append(("iss", runtime.issuer))  # RFC 9207
    redirect: str = add_params_to_uri(request.redirect_uri, params)
    return redirect


async def _known_token(
    session: AsyncSession, runtime: OAuthRuntime, token: str
) -> KnownToken | None:
    if token.startswith(REFRESH_TOKEN_PREFIX):
        row = await RefreshTokenRepository(session).by_hash(hash_token(token))
        if row is None:
            return None
        grant = await GrantRepository(session).get(row.grant_id)
        return KnownToken(
            kind="refresh_token",
            client_id=grant.client_id,
            tenant_id=str(grant.tenant_id),
            scope=grant.scope,
            subject=str(grant.customer_id),
            issued_at=row.created_at,
            expires_at=row.expires_at,
            revoked=grant.revoked_at is not None or row.rotated_at is not None,
            jkt=grant.dpop_jkt,
            consent_id=str(grant.consent_id),
            grant_id=str(grant.id),
        )
    try:
        claims = runtime.verifier.verify(token)
    except InvalidAccessToken:
        return None
    revoked = await runtime.revocations.is_revoked(claims.jti, claims.client_id)
    if not revoked and claims.consent_id is not None:
        # A consent-bound token is usable only while its consent is (RFC 7662 "active").
        try:
            consent_id = uuid.UUID(claims.consent_id)
        except ValueError:
            revoked = True
        else:
            revoked = not await consent_is_active(session, consent_id)
    return KnownToken(
        kind="access_token",
        client_id=claims.client_id,
        tenant_id=claims.tenant_id,
        scope=" ".join(sorted(claims.scope)),
        subject=claims.subject,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
        revoked=revoked,
        jti=claims.jti,
        jkt=claims.jkt,
        consent_id=claims.consent_id,
    )


async def _token_endpoint(
    session: AsyncSession,
    runtime: OAuthRuntime,
    name: str,
    form: Mapping[str, str],
    headers: Mapping[str, str],
) -> tuple[TokenContext, tuple[int, dict[str, Any], dict[str, str]]]:
    client = await authenticate_client(runtime, ClientRepository(session), form, headers)
    set_tenant(session, client.tenant_id)
    context = TokenContext(
        runtime=runtime, client=AuthenticatedClient(client), auth_method=client.auth_method.value
    )
    token = form.get("token")
    if token:
        context.token = await _known_token(session, runtime, token)
    request = EndpointRequest("POST", runtime.issuer + f"/oauth/{name}", form, headers, context)
    result = runtime.server.create_endpoint_response(name, request)
    return context, result


async def introspect(
    session: AsyncSession,
    runtime: OAuthRuntime,
    form: Mapping[str, str],
    headers: Mapping[str, str],
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """RFC 7662: a client learns whether one of its own tokens is active, and its claims."""
    _, result = await _token_endpoint(session, runtime, "introspection", form, headers)
    return result


async def revoke(
    session: AsyncSession,
    runtime: OAuthRuntime,
    form: Mapping[str, str],
    headers: Mapping[str, str],
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """RFC 7009: revoke an access token (at once, everywhere) or a refresh token's family."""
    context, result = await _token_endpoint(session, runtime, "revocation", form, headers)
    for token in context.revoke:
        if token.kind == "access_token" and token.jti is not None:
            await runtime.revocations.revoke(token.jti, token.expires_at, session=session)
            runtime.token_cache.discard(form.get("token", ""))
        elif token.grant_id is not None:
            grant = await GrantRepository(session).get(uuid.UUID(token.grant_id))
            await revoke_family(session, runtime, grant, "refresh token revoked by the client")
    return result
