"""HTTP for the authorization server (protocol endpoints) and the OAuth client admin API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.deps import Db, Subject
from puhui.gateway.catalogue import declare
from puhui.oauth.clients import ClientRegistry, OperatorClientApproval
from puhui.oauth.discovery import server_metadata
from puhui.oauth.dpop import DPOP_NONCE_HEADER
from puhui.oauth.models import OAuthClient
from puhui.oauth.protocol import OAuthError, oauth_response, parse_form
from puhui.oauth.registration import register_client
from puhui.oauth.runtime import OAuthRuntime, oauth_runtime
from puhui.oauth.schemas import (
    CallerRead,
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientUpdate,
    DynamicRegistration,
    ProductionApproval,
    SecretRotated,
)
from puhui.oauth.scopes import declared_scopes
from puhui.oauth.service import introspect, push_authorization_request, revoke
from puhui.oauth.token_endpoint import exchange

__all__ = [
    "OAuthCallerController",
    "OAuthClientController",
    "OAuthServerController",
    "OperatorOAuthClientController",
]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
_MANAGERS = ("owner", "admin", "developer")
AnyRequest = Request[Any, Any, Any]


def client_read(c: OAuthClient) -> ClientRead:
    return ClientRead(
        id=c.id,
        client_id=c.client_id,
        name=c.name,
        environment=c.environment,
        status=c.status,
        auth_method=c.auth_method,
        redirect_uris=list(c.redirect_uris),
        grant_types=list(c.grant_types),
        scopes=list(c.scopes),
        jwks=c.jwks,
        jwks_uri=c.jwks_uri,
        ip_allowlist=list(c.ip_allowlist),
        require_dpop=c.require_dpop,
        software_id=c.software_id,
        previous_secret_expires_at=c.previous_secret_expires_at,
        created_at=c.created_at,
        version=c.version,
    )


def _protocol(operation_id: str, summary: str, sequence: int) -> dict[str, Any]:
    return declare(
        operation_id=operation_id,
        summary=summary,
        tag="OAuth",
        level="A1",
        service="03",
        sequence=sequence,
        audience="public",
        errors=(401,),
        oauth_errors=True,
    )


async def _form_endpoint(
    request: AnyRequest,
    run: Callable[
        [AsyncSession, OAuthRuntime, list[tuple[str, str]], Mapping[str, str], list[str]],
        Awaitable[tuple[int, Mapping[str, Any], Mapping[str, str]]],
    ],
    *,
    offers_nonce: bool = False,
) -> Response[Any]:
    """Parse the form, run the endpoint in one unit of work, answer in OAuth's JSON format.

    An OAuth error still commits: a replayed code or refresh token revokes its family, and
    that revocation must outlive the refused request. Endpoints taking DPoP proofs hand out a
    fresh server nonce on every answer (RFC 9449 8.2), errors included.
    """
    runtime = oauth_runtime(request.app.state)
    nonce = {DPOP_NONCE_HEADER: runtime.nonces.current()} if offers_nonce else {}
    headers = {k.lower(): v for k, v in request.headers.items()}
    proofs = request.headers.getall("dpop", [])
    try:
        params = parse_form(headers.get("content-type"), await request.body())
        async with request.app.state.db.unit_of_work(None) as session:
            try:
                status, body, out_headers = await run(session, runtime, params, headers, proofs)
            except OAuthError as exc:
                error = exc
            else:
                return oauth_response(status, body, {**out_headers, **nonce})
    except OAuthError as exc:
        error = exc
    error.headers = {**nonce, **error.headers}
    return error.response()


async def _token(
    session: AsyncSession,
    runtime: OAuthRuntime,
    params: list[tuple[str, str]],
    headers: Mapping[str, str],
    proofs: list[str],
) -> tuple[int, Mapping[str, Any], Mapping[str, str]]:
    return await exchange(session, runtime, dict(params), headers, proofs)


async def _par(
    session: AsyncSession,
    runtime: OAuthRuntime,
    params: list[tuple[str, str]],
    headers: Mapping[str, str],
    proofs: list[str],
) -> tuple[int, Mapping[str, Any], Mapping[str, str]]:
    body = await push_authorization_request(session, runtime, params, headers, proofs)
    return 201, body, {}


async def _introspect(
    session: AsyncSession,
    runtime: OAuthRuntime,
    params: list[tuple[str, str]],
    headers: Mapping[str, str],
    proofs: list[str],
) -> tuple[int, Mapping[str, Any], Mapping[str, str]]:
    return await introspect(session, runtime, dict(params), headers)


async def _revoke(
    session: AsyncSession,
    runtime: OAuthRuntime,
    params: list[tuple[str, str]],
    headers: Mapping[str, str],
    proofs: list[str],
) -> tuple[int, Mapping[str, Any], Mapping[str, str]]:
    return await revoke(session, runtime, dict(params), headers)


def _metadata(request: AnyRequest) -> dict[str, Any]:
    runtime = oauth_runtime(request.app.state)
    return server_metadata(
        runtime.issuer,
        signing_algs=[runtime.keys.current().active.alg],
        scopes=declared_scopes(request.app),
    )


def _public_keys(request: AnyRequest) -> dict[str, list[dict[str, Any]]]:
    """Access-token keys, then the A2 response-signing keys (each with its kid and `use`)."""
    token_keys = oauth_runtime(request.app.state).keys.current().public_jwks()["keys"]
    response_keys = request.app.state.gateway.response_keys.current().public_jwks()["keys"]
    by_kid = {key["kid"]: key for key in [*token_keys, *response_keys]}
    return {"keys": list(by_kid.values())}


class OAuthServerController(Controller):
    """The protocol endpoints: discovery, JWKS, PAR, token, introspection, revocation, DCR."""

    @get(
        "/.well-known/oauth-authorization-server",
        **_protocol("GetAuthorizationServerMetadata", "RFC 8414 server metadata", 1),
    )
    async def metadata(self, request: AnyRequest) -> dict[str, Any]:
        return _metadata(request)

    @get(
        "/.well-known/openid-configuration",
        **_protocol("GetOpenIdConfiguration", "Server metadata at the OpenID location", 2),
    )
    async def openid_configuration(self, request: AnyRequest) -> dict[str, Any]:
        return _metadata(request)

    @get(
        "/jwks.json",
        **_protocol("GetJwks", "The bank's token and response signing keys (JWKS)", 3),
    )
    async def jwks(self, request: AnyRequest) -> Response[dict[str, Any]]:
        return Response(_public_keys(request), headers={"Cache-Control": "public, max-age=300"})

    @post("/oauth/par", **_protocol("PushAuthorizationRequest", "RFC 9126 pushed request", 4))
    async def par(self, request: AnyRequest) -> Response[Any]:
        return await _form_endpoint(request, _par, offers_nonce=True)

    @post("/oauth/token", **_protocol("IssueToken", "Token endpoint", 5))
    async def token(self, request: AnyRequest) -> Response[Any]:
        return await _form_endpoint(request, _token, offers_nonce=True)

    @post("/oauth/introspect", **_protocol("IntrospectToken", "RFC 7662 introspection", 6))
    async def introspect(self, request: AnyRequest) -> Response[Any]:
        return await _form_endpoint(request, _introspect)

    @post("/oauth/revoke", **_protocol("RevokeToken", "RFC 7009 revocation", 7))
    async def revoke(self, request: AnyRequest) -> Response[Any]:
        return await _form_endpoint(request, _revoke)

    @post(
        "/oauth/register",
        **_protocol("RegisterClient", "RFC 7591 registration with a bank software statement", 8),
    )
    async def register(
        self, request: AnyRequest, db: Db, data: JSONBody[DynamicRegistration]
    ) -> Response[Any]:
        try:
            body = await register_client(db, oauth_runtime(request.app.state), data)
        except OAuthError as exc:
            return exc.response()
        return oauth_response(201, body)


def _member(
    operation_id: str,
    summary: str,
    sequence: int,
    *,
    resource: bool = True,
    errors: tuple[int, ...] = (),
    managers: bool = True,
) -> dict[str, Any]:
    return declare(
        operation_id=operation_id,
        summary=summary,
        tag="OAuth clients",
        level="A1",
        service="03",
        sequence=sequence,
        audience="member",
        roles=_MANAGERS if managers else (),
        resource="oauth_client" if resource else None,
        errors=errors,
    )


class OAuthClientController(Controller):
    """A partner's own OAuth clients."""

    path = "/api/v1/oauth/clients"

    @get("/", **_member("ListOAuthClients", "The organisation's OAuth clients", 10, resource=False))
    async def list_clients(
        self, db: Db, subject: Subject, limit: Limit = 50, offset: Offset = 0
    ) -> list[ClientRead]:
        return [client_read(c) for c in await ClientRegistry(db, subject).page(limit, offset)]

    @post(
        "/",
        **_member("CreateOAuthClient", "Register a sandbox client", 11, resource=False),
    )
    async def create_client(
        self, db: Db, subject: Subject, data: JSONBody[ClientCreate]
    ) -> ClientCreated:
        client, secret = await ClientRegistry(db, subject).create(data)
        return ClientCreated(client=client_read(client), client_secret=secret)

    @get("/{client_id:uuid}", **_member("GetOAuthClient", "One OAuth client", 12))
    async def get_client(
        self, db: Db, subject: Subject, client_id: FromPath[uuid.UUID]
    ) -> ClientRead:
        return client_read(await ClientRegistry(db, subject).get(client_id))

    @patch(
        "/{client_id:uuid}",
        **_member(
            "UpdateOAuthClient", "Change redirect URIs, keys, IPs or scopes", 13, errors=(409,)
        ),
    )
    async def update_client(
        self,
        db: Db,
        subject: Subject,
        client_id: FromPath[uuid.UUID],
        data: JSONBody[ClientUpdate],
    ) -> ClientRead:
        return client_read(await ClientRegistry(db, subject).update(client_id, data))

    @post(
        "/{client_id:uuid}/rotate-secret",
        status_code=200,
        **_member(
            "RotateOAuthClientSecret", "New secret; the old one overlaps 24 h", 14, errors=(409,)
        ),
    )
    async def rotate_secret(
        self, db: Db, subject: Subject, client_id: FromPath[uuid.UUID]
    ) -> SecretRotated:
        secret, until = await ClientRegistry(db, subject).rotate_secret(client_id)
        return SecretRotated(client_secret=secret, previous_secret_valid_until=until)

    @post(
        "/{client_id:uuid}/revoke",
        status_code=200,
        **_member("RevokeOAuthClient", "Revoke a client", 15),
    )
    async def revoke_client(
        self, request: AnyRequest, db: Db, subject: Subject, client_id: FromPath[uuid.UUID]
    ) -> ClientRead:
        client = await ClientRegistry(db, subject).revoke(client_id)
        # Its live access tokens stop on the next call in every worker, not when a cache lapses.
        runtime = oauth_runtime(request.app.state)
        await runtime.revocations.revoke_client(client.client_id, session=db)
        return client_read(client)

    @post(
        "/{client_id:uuid}/production-request",
        status_code=200,
        **_member("RequestOAuthClientProduction", "Ask the bank for production", 16, errors=(409,)),
    )
    async def request_production(
        self, db: Db, subject: Subject, client_id: FromPath[uuid.UUID]
    ) -> ClientRead:
        return client_read(await ClientRegistry(db, subject).request_production(client_id))


class OperatorOAuthClientController(Controller):
    path = "/api/v1/operator/oauth/clients"

    @post(
        "/{client_id:uuid}/approve-production",
        status_code=200,
        **declare(
            operation_id="OperatorApproveOAuthClient",
            summary="Promote a client to production (DPoP required from then on)",
            tag="Operator",
            level="A1",
            service="03",
            sequence=30,
            audience="operator",
            roles=("operator",),
            errors=(404, 409),
        ),
    )
    async def approve(
        self,
        request: AnyRequest,
        db: Db,
        subject: Subject,
        client_id: FromPath[uuid.UUID],
        data: JSONBody[ProductionApproval],
    ) -> ClientRead:
        service = OperatorClientApproval(
            db, subject, request.client.host if request.client else None
        )
        return client_read(await service.approve(client_id, data.reason))


class OAuthCallerController(Controller):
    path = "/api/v1/oauth/caller"

    @get(
        "/",
        **declare(
            operation_id="GetOAuthCaller",
            summary="The calling client as its access token names it",
            tag="OAuth",
            level="A1",
            service="03",
            sequence=20,
            audience="client",
        ),
    )
    async def caller(self, subject: Subject) -> CallerRead:
        return CallerRead(
            client_id=subject.client_id or "",
            tenant_id=subject.tenant_id,
            scopes=sorted(subject.scopes),
            consent_id=subject.consent_id,
            customer_id=subject.customer_id,
        )
