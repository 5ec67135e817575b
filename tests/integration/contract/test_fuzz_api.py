"""Schemathesis fuzzes every operation of the committed contract against a live server.

The server runs with uvicorn on a loopback port (its own event loop and database), so the fuzzer
exercises the real HTTP stack. Calls are made as a signed-in bank member who is also a partner
owner, so protected routes are reached, not just refused. Every response must be declared in the
contract (status, content type, schema) and none may be a 5xx.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from litestar.stores.memory import MemoryStore
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)
from tests.conftest import fresh_database_url, make_settings

from puhui.app import create_app
from puhui.config import Settings
from puhui.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[3]
schema = schemathesis.openapi.from_dict(
    json.loads((ROOT / "openapi" / "openapi.json").read_text("utf-8"))
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, worker_label: str
) -> Iterator[tuple[str, Settings]]:
    port = _free_port()
    url = fresh_database_url(tmp_path_factory.mktemp("fuzz"), worker_label + "_fuzz")
    app_settings = make_settings(url, issuer=f"http://127.0.0.1:{port}")
    upgrade(app_settings)
    app = create_app(app_settings, session_store=MemoryStore())
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield base, app_settings
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def signed_in(live_server: tuple[str, Settings]) -> dict[str, Any]:
    """Cookies and CSRF header of a bank member with operator and owner roles."""
    import asyncio

    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.identity.passwords import hash_password
    from puhui.tenancy.models import Member, MemberStatus, Tenant, TenantKind, TenantStatus

    base, app_settings = live_server

    async def make() -> None:
        engine = create_engine(app_settings)
        try:
            async with SessionFactory(engine).unit_of_work() as session:
                tenant = Tenant(
                    code="fuzz-bank",
                    name="Fuzz Bank",
                    kind=TenantKind.BANK,
                    status=TenantStatus.ACTIVE,
                    plan="bank",
                    is_sandbox=False,
                )
                session.add(tenant)
                await session.flush()
                session.info["puhui.tenant_id"] = tenant.id
                session.add(
                    Member(
                        tenant_id=tenant.id,
                        email="fuzz@puhui.bank",
                        display_name="Fuzz",
                        roles=["operator", "owner", "risk_officer"],
                        password_hash=hash_password("Fuzz-Password-1"),
                        status=MemberStatus.ACTIVE,
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(make())
    response = httpx.post(
        f"{base}/api/v1/session", json={"email": "fuzz@puhui.bank", "password": "Fuzz-Password-1"}
    )
    assert response.status_code == 201, response.text
    return {
        "cookies": dict(response.cookies),
        "headers": {"X-CSRF-Token": response.json()["csrf_token"]},
    }


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_honours_its_contract(
    case: schemathesis.Case, live_server: tuple[str, Settings], signed_in: dict[str, Any]
) -> None:
    base, _ = live_server
    if case.operation.path == "/api/v1/session" and case.method == "DELETE":
        pytest.skip("signing out would end the fuzzing session for every other operation")
    # The session cookie is sent on every case, so "a request missing the cookie must be refused"
    # cannot be observed here (test_session_auth covers it). "Schema-valid data must be accepted"
    # does not hold for a bank API: random but well-formed ids are unknown (404), states conflict
    # (409) and business rules span fields (422); those answers are still checked to be declared
    # problem documents. Every other check stays on.
    case.call_and_validate(
        base_url=base,
        headers=dict(signed_in["headers"]),
        cookies=dict(signed_in["cookies"]),
        excluded_checks=[negative_data_rejection, ignored_auth, positive_data_acceptance],
    )
