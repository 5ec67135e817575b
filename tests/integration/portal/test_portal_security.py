"""Portal security (issue 8, item 9): a declared audience and roles on every page, enforced for
each role; a strict CSP without inline script; secure, HTTP-only cookies; the idle timeout; and
secrets that never reappear in HTML after their one-time display."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.stores.memory import MemoryStore
from partner_portal.csp import page_security_headers
from tests.builders import PASSWORD, create_member, create_tenant, member_client
from tests.conftest import REDIS_URL, http_client
from tests.portal_builders import (
    PARTNER_PASSWORD,
    bank_staff,
    csrf_of,
    sign_in_as,
    sign_up_partner,
    submit,
)

from puhui.app import create_app
from puhui.clock import FrozenClock, set_clock
from puhui.config import Settings
from puhui.gateway.catalogue import ApiSpec, spec_of

pytestmark = pytest.mark.anyio

_PARAM = re.compile(r"\{[^}:]+:[^}]+\}")


def portal_routes(app: Litestar) -> Iterator[tuple[str, str, ApiSpec]]:
    """(method, concrete path, declaration) of every portal and console page."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if not route.path.startswith(("/portal", "/console")):
            continue
        for handler in route.route_handlers:
            if handler.http_methods <= {"OPTIONS", "HEAD"}:
                continue  # Litestar's automatic OPTIONS answer
            spec = spec_of(handler.opt or {})
            assert spec is not None, f"{route.path} is not declared in the API catalogue"
            path = _PARAM.sub(str(uuid.uuid4()), route.path)
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                yield method, path, spec


async def test_every_page_declares_its_audience_and_roles(app: Litestar) -> None:
    routes = list(portal_routes(app))
    assert len(routes) > 40
    for method, path, spec in routes:
        if path.startswith("/console"):
            assert spec.audience == "operator", path
            assert spec.roles, path
            assert spec.roles <= {"operator", "risk_officer", "auditor"}, path
        elif spec.audience == "member":
            assert spec.roles, (method, path)  # no page is open to "any signed-in member"
        else:
            assert spec.audience == "public", (method, path)


async def _call(http: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    if method == "GET":
        return await http.get(path)
    return await http.request(method, path, data={"_csrf": "x"})


async def test_each_role_reaches_only_its_pages(app: Litestar, client: httpx.AsyncClient) -> None:
    """Every page refuses each role its declaration leaves out (checked before the handler)."""
    viewer, _, _ = await member_client(app, ("viewer",))
    developer, _, _ = await member_client(app, ("developer",))
    auditor, _, _ = await bank_staff(app, ("auditor",))
    risk, _, _ = await bank_staff(app, ("risk_officer",))
    callers = {"viewer": viewer, "developer": developer, "auditor": auditor, "risk_officer": risk}
    checked = 0
    for method, path, spec in portal_routes(app):
        if spec.audience == "public":
            continue
        for role, http in callers.items():
            if role in spec.roles:
                continue
            response = await _call(http, method, path)
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert "text/html" in response.headers["content-type"], path
            checked += 1
        anonymous = await _call(http_client(app), method, path)
        expected = {303} if method == "GET" else {401, 403}
        assert anonymous.status_code in expected, (method, path, anonymous.status_code)
    assert checked > 60
    # and the pages a viewer may see, it sees without the controls it may not use
    apps = await viewer.get("/portal/apps")
    assert apps.status_code == 200
    assert 'href="/portal/apps/new"' not in apps.text


async def test_pages_carry_a_strict_csp_and_no_inline_script(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    policy = page_security_headers()["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    for caller, url, status in (
        (client, "/", 200),
        (client, "/portal/sign-in", 200),
        (client, "/consent-centre/", 200),
        (partner.client, "/portal", 200),
        (partner.client, "/portal/apps", 200),
        (partner.client, f"/portal/apps/{uuid.uuid4()}", 404),
        (partner.client, "/console", 403),
    ):
        response = await caller.get(url)
        assert response.status_code == status, url
        assert response.headers.get("content-security-policy") == policy, url
        assert response.headers["x-frame-options"] == "DENY", url
        assert response.headers["cache-control"] == "no-store", url
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url  # no inline event handlers
        assert "javascript:" not in html, url


@pytest.fixture
def secure_app(settings: Settings) -> Litestar:
    secure = msgspec.structs.replace(settings, secure_cookies=True)
    return create_app(secure, session_store=None if REDIS_URL else MemoryStore())


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def test_cookies_are_secure_http_only_and_same_site(secure_app: Litestar) -> None:
    async with secure_app.lifespan():
        member = await create_member(secure_app, await create_tenant(secure_app), ("owner",))
        browser = httpx.AsyncClient(  # Secure cookies travel over https only
            transport=httpx.ASGITransport(app=secure_app),
            base_url="https://127.0.0.1:8000",
        )
        form = await browser.get("/portal/sign-in")
        anon = _set_cookies(form)["puhui_form_csrf"].lower()
        for flag in ("secure", "httponly", "samesite=strict"):
            assert flag in anon, anon
        signed_in = await browser.post(
            "/portal/sign-in",
            data={"_csrf": csrf_of(form.text), "email": member.email, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text[:300]
        session = _set_cookies(signed_in)["puhui_session"].lower()
        for flag in ("secure", "httponly", "samesite=lax", "path=/"):
            assert flag in session, session
        assert (await browser.get("/portal")).status_code == 200
        centre = _set_cookies(await browser.get("/consent-centre/"))
        assert centre
        assert all("secure" in v.lower() and "httponly" in v.lower() for v in centre.values())


async def test_an_idle_session_ends_and_the_next_page_asks_to_sign_in(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    frozen = FrozenClock(datetime.now(UTC))
    previous = set_clock(frozen)
    try:
        partner = await sign_up_partner(app)
        idle = app.state.settings.session_idle_seconds
        frozen.advance(timedelta(seconds=idle - 60))
        assert (await partner.client.get("/portal")).status_code == 200  # activity renews it
        frozen.advance(timedelta(seconds=idle - 60))
        assert (await partner.client.get("/portal")).status_code == 200
        frozen.advance(timedelta(seconds=idle + 1))
        expired = await partner.client.get("/portal/apps")
        assert expired.status_code == 303
        assert expired.headers["location"] == "/portal/sign-in?next=/portal/apps"
        again = await sign_in_as(partner.client, partner.email, PARTNER_PASSWORD)
        assert again.headers["location"] == "/portal"
    finally:
        set_clock(previous)


async def test_a_secret_never_reappears_after_its_one_time_display(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)  # the sandbox secret was shown once, on verification
    registered = await submit(
        partner.client,
        "/portal/apps/new",
        "/portal/apps",
        {
            "name": "Secret keeper",
            "auth_method": "client_secret_basic",
            "grant_types": ["client_credentials"],
        },
    )
    assert registered.status_code == 200
    assert registered.headers["cache-control"] == "no-store"
    secret = re.search(r'id="client-secret">([^<]+)<', registered.text)
    app_page = re.search(r'href="(/portal/apps/[0-9a-f-]{36})"', registered.text)
    assert secret
    assert app_page
    secrets_shown = [partner.client_secret, secret.group(1)]
    for url in (
        "/portal",
        "/portal/apps",
        app_page.group(1),
        "/portal/try-it",
        "/portal/logs",
        "/portal/traffic",
        "/portal/security",
        "/portal/team",
    ):
        response = await partner.client.get(url)
        assert response.status_code == 200, url
        for value in secrets_shown:
            assert value not in response.text, url
        assert "phs_" not in response.text, url  # no secret of any kind, by its prefix
    assert partner.client_secret.startswith("phs_")


async def test_the_language_switch_returns_to_the_same_page_and_nowhere_else(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    form = await client.get("/portal/sign-in?next=/portal/apps")
    assert 'name="next" value="/portal/sign-in?next=/portal/apps"' in form.text
    token = csrf_of(form.text)
    switched = await client.post(
        "/lang", data={"_csrf": token, "lang": "en", "next": "/portal/sign-in?next=/portal/apps"}
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/portal/sign-in?next=/portal/apps"
    assert "puhui_lang=en" in switched.headers["set-cookie"]
    for target in ("//evil.example/x", "https://evil.example/", "/\t/evil.example", "/\\evil"):
        away = await client.post("/lang", data={"_csrf": token, "lang": "zh", "next": target})
        assert away.headers["location"] == "/", target
