"""The "try it" console's server-side proxy: it calls the sandbox API in-process on the
partner's behalf, so no client secret or token ever reaches the browser.

Client APIs get a short-lived access token minted for the organisation's own sandbox client
(scopes narrowed to what the operation needs); portal APIs travel with the member's session.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

import httpx
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.errors import Conflict, FieldError, InvalidRequest, NotFound
from puhui.gateway.client_profiles import signing_secret_aad
from puhui.gateway.meta import CatalogueEntry, api_catalogue
from puhui.identity.sessions import COOKIE_NAME
from puhui.oauth.clients import ClientRegistry
from puhui.oauth.models import ClientEnvironment, ClientStatus, OAuthClient
from puhui.oauth.runtime import oauth_runtime
from puhui.security.digest import content_digest
from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request
from puhui.security.keyring import keyring
from puhui.tenancy.subject import AuthSubject

__all__ = ["TRYABLE_AUDIENCES", "SandboxCall", "call_sandbox", "tryable_operations"]

TRYABLE_AUDIENCES = frozenset({"public", "member", "client"})
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_MAX_BODY = 64_000
_SHOWN_HEADERS = ("content-type", "x-request-id", "retry-after", "ratelimit", "www-authenticate")


@dataclass(frozen=True)
class SandboxCall:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: str
    elapsed_ms: int


def tryable_operations(app: Litestar) -> list[CatalogueEntry]:
    """API operations a partner may try (no portal pages, no operator routes)."""
    return [
        entry
        for entry in api_catalogue(app)
        if entry.audience in TRYABLE_AUDIENCES
        and (entry.path.startswith("/api/") or entry.path.startswith("/oauth/"))
    ]


def path_parameters(entry: CatalogueEntry) -> list[str]:
    return _PARAM.findall(entry.path)


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)[:_MAX_BODY]
    except ValueError:
        return text[:_MAX_BODY]


async def call_sandbox(
    app: Litestar,
    session: AsyncSession,
    subject: AuthSubject,
    *,
    operation_id: str,
    method: str,
    path_values: dict[str, str],
    query: str,
    body: str,
) -> SandboxCall:
    if not app.state.settings.sandbox:
        raise NotFound("The try-it console exists in the sandbox only.")
    entry = next(
        (
            e
            for e in tryable_operations(app)
            if e.operation_id == operation_id and e.method == method
        ),
        None,
    )
    if entry is None:
        raise InvalidRequest(errors=[FieldError("operation", "choose an operation from the list")])
    missing = [name for name in path_parameters(entry) if not path_values.get(name)]
    if missing:
        raise InvalidRequest(errors=[FieldError(f"path.{missing[0]}", "required")])
    path = _PARAM.sub(lambda m: quote(path_values[m.group(1)][:200], safe=""), entry.path)
    url = path + ("?" + query.lstrip("?")[:1000] if query.strip() else "")
    headers = {"accept": "application/json"}
    content: bytes | None = None
    if body.strip() and method in {"POST", "PUT", "PATCH"}:
        try:
            json.loads(body)
        except ValueError:
            raise InvalidRequest(errors=[FieldError("body", "not valid JSON")]) from None
        headers["content-type"] = "application/json"
        content = body.encode("utf-8")[:_MAX_BODY]
    if entry.audience == "client":
        client = await _sandbox_client(session, subject, entry)
        headers["authorization"] = "Bearer " + _sandbox_token(app, subject, client, entry)
        _sign_a1(app, client, entry, method, url, headers, content)
    elif entry.audience == "member":
        headers["cookie"] = f"{COOKIE_NAME}={subject.session_id or ''}"
        headers["x-csrf-token"] = subject.csrf_token or ""
    transport = httpx.ASGITransport(app=cast("Any", app))
    started = time.perf_counter()
    async with httpx.AsyncClient(
        transport=transport, base_url=app.state.settings.issuer, timeout=10.0
    ) as http:
        response = await http.request(method, url, headers=headers, content=content)
    elapsed = int((time.perf_counter() - started) * 1000)
    record_event(
        session,
        "portal.try_it",
        subject=subject,
        target_tenant_id=subject.tenant_id,
        api_id=entry.api_id,
        details={"status": response.status_code, "operation_id": entry.operation_id},
    )
    return SandboxCall(
        method=method,
        url=url,
        status=response.status_code,
        headers={k: v for k, v in response.headers.items() if k.lower() in _SHOWN_HEADERS},
        body=_pretty(response.text),
        elapsed_ms=elapsed,
    )


async def _sandbox_client(
    session: AsyncSession, subject: AuthSubject, entry: CatalogueEntry
) -> OAuthClient:
    """The organisation's live sandbox client that holds the scopes the operation needs."""
    clients = await ClientRegistry(session, subject).page(200, 0)
    needed = set(entry.scopes)
    client = next(
        (
            c
            for c in clients
            if c.environment is ClientEnvironment.SANDBOX
            and c.status is not ClientStatus.REVOKED
            and needed <= set(c.scopes)
        ),
        None,
    )
    if client is None:
        raise Conflict("No sandbox app of yours holds the scopes this API needs.")
    return client


def _sandbox_token(
    app: Litestar, subject: AuthSubject, client: OAuthClient, entry: CatalogueEntry
) -> str:
    """A short-lived access token minted server-side; it never leaves this process."""
    needed = set(entry.scopes)
    runtime = oauth_runtime(app.state)
    issued = runtime.tokens.issue(
        subject=client.client_id,
        client_id=client.client_id,
        audience=runtime.audience,
        scope=sorted(needed),
        tenant_id=str(subject.tenant_id),
    )
    return issued.token


def _sign_a1(
    app: Litestar,
    client: OAuthClient,
    entry: CatalogueEntry,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
) -> None:
    """RFC 9421 HMAC signature for A1 APIs with the client's sealed signing secret (JR/T 0185).

    A2 APIs need the partner's own private key, which the bank never holds: those calls go
    unsigned and the sandbox answers with the signature problem, as it would for the partner.
    """
    if entry.level != "A1" or not client.signing_secret_enc:
        return
    secret = keyring().decrypt(client.signing_secret_enc, signing_secret_aad(client.id))
    components: tuple[str, ...] = ("@method", "@target-uri")
    if content:
        headers["content-digest"] = content_digest(content)
        components = (*components, "content-digest")
    signed = sign_request(
        HttpRequest(method=method, url=app.state.settings.issuer + url, headers=headers),
        SignatureKey("hmac-sha256", secret, keyid=client.client_id),
        components=components,
    )
    headers["signature-input"] = signed.signature_input
    headers["signature"] = signed.signature
