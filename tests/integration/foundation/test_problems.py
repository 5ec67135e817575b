"""Every failure is an RFC 9457 problem with a request id, and nothing internal leaks."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_member, create_tenant, login, member_client

pytestmark = pytest.mark.anyio
LEAKS = re.compile(
    r"Traceback|File \"|sqlalchemy|litestar|msgspec|asyncpg|aiosqlite|/work/|site-packages|SELECT |"
    r"INSERT |psycopg|Exception|\.py\b",
    re.IGNORECASE,
)


def assert_problem(response: object, status: int, slug: str | None = None) -> dict[str, object]:
    r = response
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= body.keys()
    assert body["status"] == status
    assert body["request_id"] == r.headers["x-request-id"]  # type: ignore[attr-defined]
    if slug:
        assert body["type"].endswith(f"/problems/{slug}")
    assert not LEAKS.search(r.text), r.text  # type: ignore[attr-defined]
    return body  # type: ignore[no-any-return]


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nope"), 404, "not-found")
    assert_problem(await client.put("/health/live"), 405, "method-not-allowed")


async def test_unauthenticated_calls(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/members"), 401, "authentication-required")


async def test_malformed_json_and_field_errors(app: Litestar, client: httpx.AsyncClient) -> None:
    tenant = await create_tenant(app)
    await login(client, await create_member(app, tenant, ["owner"]))
    bad = await client.post(
        "/api/v1/members", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(bad, 400, "malformed-request")
    invalid = await client.post(
        "/api/v1/members", json={"email": "not-an-email", "display_name": "", "roles": ["king"]}
    )
    body = assert_problem(invalid, 422, "validation-error")
    assert body["errors"], body
    unknown = await client.post(
        "/api/v1/members",
        json={"email": "a@b.cn", "display_name": "A", "roles": ["viewer"], "is_admin": True},
    )
    assert_problem(unknown, 422, "validation-error")


async def test_size_depth_and_media_type_limits(app: Litestar, client: httpx.AsyncClient) -> None:
    tenant = await create_tenant(app)
    await login(client, await create_member(app, tenant, ["owner"]))
    huge = b'{"email":"' + b"a" * (app.state.settings.max_body_bytes + 10) + b'"}'
    assert_problem(
        await client.post(
            "/api/v1/members", content=huge, headers={"content-type": "application/json"}
        ),
        413,
        "payload-too-large",
    )
    deep = b"[" * 100 + b"]" * 100
    assert_problem(
        await client.post(
            "/api/v1/members", content=deep, headers={"content-type": "application/json"}
        ),
        422,
        "validation-error",
    )
    assert_problem(
        await client.post(
            "/api/v1/members", content=b"email=x", headers={"content-type": "text/plain"}
        ),
        415,
        "unsupported-media-type",
    )


async def test_request_id_is_echoed_when_well_formed_and_minted_otherwise(
    client: httpx.AsyncClient,
) -> None:
    ok = await client.get("/health/live", headers={"X-Request-ID": "partner-req-12345678"})
    assert ok.headers["x-request-id"] == "partner-req-12345678"
    evil = await client.get("/health/live", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{24}", evil.headers["x-request-id"])


def _routes(app: Litestar) -> list[tuple[str, str, bool]]:
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method in {"HEAD", "OPTIONS"}:
                    continue
                out.append(
                    (method, route.path_format, "data" in handler.parsed_fn_signature.parameters)
                )
    return out


GARBAGE_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b"{}",
    b'{"a":',
    b"\xff\xfe\x00garbage",
    b'"string"',
    b"1e999",
    b'{"version": "x", "roles": 5, "email": []}',
    b'{"\\ud800": 1}',
]
GARBAGE_IDS = [
    "not-a-uuid",
    "00000000-0000-0000-0000-000000000000",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR 1=1 --",
]


async def test_garbage_to_every_route_never_yields_500_or_leaks(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    """As an anonymous caller, a partner owner and a bank operator."""
    from puhui.tenancy.models import TenantKind

    anon = client
    partner, _, _ = await member_client(app, ("owner",))
    operator, _, _ = await member_client(app, ("operator",), kind=TenantKind.BANK)
    seen = 0
    for caller in (anon, partner, operator):
        for method, path, has_body in _routes(app):
            for garbage_id in GARBAGE_IDS:
                url = re.sub(r"\{\w+\}", garbage_id, path)
                bodies = GARBAGE_BODIES if has_body else [b""]
                for body in bodies:
                    r = await caller.request(
                        method, url, content=body, headers={"content-type": "application/json"}
                    )
                    seen += 1
                    assert r.status_code < 500, (method, url, body, r.text)
                    assert not LEAKS.search(r.text), (method, url, r.text)
                    assert "x-request-id" in r.headers
    assert seen > 100
