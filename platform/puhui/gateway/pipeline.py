"""The gateway pipeline: one ASGI middleware whose steps run in a fixed order, top to bottom.

JR/T 0185-2020 order (each step is one function call below, implemented in its own module):

     1. request id            bind X-Request-ID (accept a well-formed one, else mint)
     2. size and shape        body size, JSON depth, content type
     3. client identity       portal session cookie here; OAuth bearer + DPoP (puhui.oauth.resource)
     4. audience and roles    the route's declaration in the API catalogue decides who may call
     5. CSRF                  cookie-authenticated unsafe requests carry the session's token
     6. IP rule               the client's CIDR allow-list (puhui.gateway.steps)
     7. signature, replay     RFC 9421 request signature + nonce (puhui.gateway.steps)
     8. rate limit, quota     token bucket + daily/monthly quota (puhui.gateway.steps)
     9. scope + consent       token scopes and the consent's current state (puhui.consent.enforce)
    10. handler
    11. response masking      C2 fields masked unless scope and consent grant them
    12. response signature    A2 responses signed with the bank's key
    13. audit record          group-committed before the response completes
    14. response headers      X-Request-ID and security headers

No step becomes a separate middleware layer: every layer costs on every call.
"""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from sqlalchemy import select

from puhui.consent.enforce import enforce_consent
from puhui.errors import (
    CSRF,
    MEDIA,
    TOO_LARGE,
    VALIDATION,
    AuthenticationRequired,
    Forbidden,
    InvalidRequest,
    ProblemError,
)
from puhui.gateway.catalogue import ApiSpec, spec_of
from puhui.gateway.limits import json_depth_exceeds
from puhui.gateway.steps import (
    GatewayControls,
    admit,
    check_ip,
    client_address,
    plan_named,
    verify_signature,
)
from puhui.gateway.steps.quota import admit_public
from puhui.gateway.steps.response import (
    GatewayCall,
    ResponseSteps,
    audit_failure,
    header_value,
    raw_headers,
)
from puhui.gateway.steps.signature import request_for_signature
from puhui.identity.sessions import COOKIE_NAME
from puhui.oauth.resource import authenticate_bearer
from puhui.observability import bind_request, new_request_id, request_context
from puhui.tenancy.models import Member, MemberStatus, Tenant, TenantKind, TenantStatus
from puhui.tenancy.subject import AuthSubject

if TYPE_CHECKING:
    from litestar.types import ASGIApp, HTTPReceiveMessage, HTTPScope, Message, Receive, Scope, Send

__all__ = ["SUBJECT_KEY", "GatewayPipeline"]

SUBJECT_KEY = "puhui.subject"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_TYPES = ("application/json", "application/merge-patch+json")
_STAFF_ROLES = frozenset({"operator", "risk_officer", "auditor"})
_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    ),
)
SECURITY_HEADERS = _SECURITY_HEADERS  # public name: pages rendered outside the pipeline reuse it
# A suspended tenant can still see its own status (and sign out); nothing else.
_ALLOWED_WHEN_SUSPENDED = frozenset({"GetMyTenant", "GetCurrentSession", "Logout"})


class GatewayPipeline(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Run the steps; a call refused or failed before it responds is audited first (13)."""
        call = GatewayCall(started=time.perf_counter())
        try:
            await self._steps(scope, receive, send, next_app, call)
        except Exception as exc:
            subject = scope.get("state", {}).get(SUBJECT_KEY)
            await audit_failure(
                scope["litestar_app"].state.gateway,
                scope,
                call,
                subject if isinstance(subject, AuthSubject) else None,
                exc,
            )
            raise

    async def _steps(
        self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, call: GatewayCall
    ) -> None:
        scope = cast("HTTPScope", scope)  # `scopes` limits this middleware to HTTP
        headers = _headers(scope)
        # 1. request id
        request_id = new_request_id(headers.get("x-request-id"))
        ctx = bind_request(
            request_id, route=getattr(scope.get("route_handler"), "paths", None) and scope["path"]
        )
        spec = spec_of(getattr(scope.get("route_handler"), "opt", {}) or {})
        settings = scope["litestar_app"].state.settings
        controls: GatewayControls = scope["litestar_app"].state.gateway
        call.bind(
            spec,
            request_id,
            client_address(scope, headers, controls.proxies),
            headers.get("idempotency-key"),
        )

        # 2. size and shape
        receive, body = await _bounded_body(
            scope, receive, headers, settings.max_body_bytes, settings.max_json_depth
        )

        # 3. client identity
        subject = await _identify(scope, headers) or await authenticate_bearer(scope, headers)
        if subject is not None:
            scope.setdefault("state", {})[SUBJECT_KEY] = subject
            ctx.tenant_id = str(subject.tenant_id)
            request_context.set(ctx)

        # 4. audience and roles
        if spec is not None:
            _authorise(spec, subject, scope)

        # 5. CSRF for cookie-authenticated unsafe requests. Customer pages and the customer API
        # (opt customer_session) check their own session's token: a portal cookie in the same
        # browser is not what authenticates them, so its token must not be demanded there.
        if (
            subject is not None
            and subject.session_id is not None
            and scope["method"] in _UNSAFE
            and not (getattr(scope.get("route_handler"), "opt", None) or {}).get("customer_session")
        ):
            sent = headers.get("x-csrf-token") or _form_csrf(headers, body)
            if not sent or not hmac.compare_digest(sent, subject.csrf_token or ""):
                raise ProblemError(problem=CSRF)

        # 6-8 for OAuth clients: IP rule, signature + anti-replay, rate limit + quota
        signed_request = verified = decision = None
        if spec is not None and subject is not None and subject.kind == "client":
            profile = await controls.profiles.get(subject.tenant_id, subject.client_id or "")
            if profile is None or not profile.active:
                raise AuthenticationRequired()
            # 6. IP rule
            check_ip(profile, call.client_ip or "")
            # 7. signature, anti-replay
            signed_request = request_for_signature(scope, headers)
            verified = await verify_signature(
                spec,
                profile,
                signed_request,
                body,
                controls.nonces,
                settings.signature_skew_seconds,
            )
            # 8. rate limit, quota
            decision = await admit(
                controls.limiter,
                spec,
                plan_named(profile.rate_plan),
                subject.tenant_id,
                profile.client_id,
            )
        elif spec is not None and spec.audience == "public" and subject is None:
            # 8. public routes: rate limit per source address
            decision = await admit_public(controls.limiter, call.client_ip or "")

        # 9. scope + consent: the consent's current state on every call
        await enforce_consent(scope, spec, subject)

        # 10. handler; 11-13 (masking, response signature, audit) and 14 (X-Request-ID, and the
        # security headers the handler did not set) as the response leaves
        respond = ResponseSteps(
            send,
            controls,
            call,
            subject=subject,
            method=scope["method"],
            decision=decision,
            signed_request=signed_request,
            verified=verified,
            defaults=_SECURITY_HEADERS,
        )
        respond.headers[b"x-request-id"] = request_id.encode("latin-1")
        if scope["method"] != "OPTIONS":
            await next_app(scope, receive, respond.send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = raw_headers(message)
                if any(name.lower() == b"allow" for name, _ in raw):
                    allow = _allowed_methods(scope, header_value(raw, b"allow"))
                    respond.headers[b"allow"] = allow.encode("latin-1")
            await respond.send(message)

        await next_app(scope, receive, send_with_allow)


def _allowed_methods(scope: HTTPScope, generated: str) -> str:
    """Every method the path supports. Litestar's generated OPTIONS answer lists only the methods
    of one handler when several handlers share a path (GET list + POST create)."""
    app = scope["litestar_app"]
    table: dict[str, str] | None = app.state.get("allow_by_path")
    if table is None:
        table = {
            route.path: ", ".join(sorted(route.methods))
            for route in app.routes
            if hasattr(route, "methods")
        }
        app.state.allow_by_path = table
    handler_paths: set[str] = getattr(scope.get("route_handler"), "paths", set())
    for path in handler_paths:
        if path in table:
            return table[path]
    return generated


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _bounded_body(
    scope: HTTPScope, receive: Receive, headers: dict[str, str], max_bytes: int, max_depth: int
) -> tuple[Receive, bytes]:
    """Read the whole body once (bounded), check its shape, and hand the app a replaying receive."""
    method = scope["method"]
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("Content-Length is not a number.")
        if int(declared) > max_bytes:
            raise ProblemError(problem=TOO_LARGE)
    if method not in _UNSAFE:
        return receive, b""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise ProblemError(problem=TOO_LARGE)
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    path: str = scope["path"]
    if body and path.startswith("/api/"):
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in _JSON_TYPES:
            raise ProblemError("Send the body as application/json.", problem=MEDIA)
        if json_depth_exceeds(body, max_depth):
            raise ProblemError(f"JSON nesting deeper than {max_depth} levels.", problem=VALIDATION)
    sent = False

    async def replay() -> HTTPReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return cast("HTTPReceiveMessage", await receive())

    return cast("Receive", replay), body


def _form_csrf(headers: dict[str, str], body: bytes) -> str | None:
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs(body.decode("utf-8", "replace")).get("_csrf")
    return values[0] if values else None


async def _identify(scope: Scope, headers: dict[str, str]) -> AuthSubject | None:
    cookie = _cookie(headers.get("cookie", ""), COOKIE_NAME)
    if cookie is None:
        return None
    state = scope["litestar_app"].state
    portal = await state.sessions.get(cookie)
    if portal is None:
        return None
    async with state.db.unit_of_work(portal.tenant_id) as session:
        row = (
            await session.execute(
                select(Member, Tenant)
                .join(Tenant, Tenant.id == Member.tenant_id)
                .where(Member.id == portal.member_id)
            )
        ).first()
    if row is None:
        return None
    member, tenant = row
    if member.status is not MemberStatus.ACTIVE:
        return None
    scope.setdefault("state", {})["tenant_status"] = tenant.status
    return AuthSubject(
        kind="member",
        tenant_id=tenant.id,
        tenant_kind=tenant.kind,
        member_id=member.id,
        roles=frozenset(member.roles),
        session_id=cookie,
        csrf_token=portal.csrf_token,
    )


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def _authorise(spec: ApiSpec, subject: AuthSubject | None, scope: Scope) -> None:
    if spec.audience == "public":
        return
    if subject is None:
        raise AuthenticationRequired()
    if scope.get("state", {}).get("tenant_status") is TenantStatus.SUSPENDED and (
        spec.operation_id not in _ALLOWED_WHEN_SUSPENDED
    ):
        raise Forbidden("This organisation is suspended; contact the bank.")
    if spec.audience == "operator":
        if subject.tenant_kind is not TenantKind.BANK or not subject.roles & _STAFF_ROLES:
            raise Forbidden("Bank staff only.")
    elif spec.audience == "member" and subject.kind != "member":
        raise Forbidden("Sign in to the portal for this operation.")
    elif spec.audience in {"client", "customer"} and subject.kind != "client":
        raise Forbidden("This operation needs an OAuth access token.")
    if spec.roles and not subject.roles & spec.roles:
        raise Forbidden("Your role does not allow this action.")
    if spec.scopes and subject.kind == "client" and not spec.scopes <= subject.scopes:
        raise Forbidden("The access token lacks a required scope.")
