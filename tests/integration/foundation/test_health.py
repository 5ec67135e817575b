from __future__ import annotations

import httpx
import pytest
from litestar.stores.memory import MemoryStore
from tests.conftest import REDIS_URL, http_client, make_settings

from puhui.app import create_app

pytestmark = pytest.mark.anyio


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json()["status"] == "ok"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    names = {c["name"] for c in ready.json()["checks"]}
    assert "database" in names
    assert ("redis" in names) == bool(REDIS_URL)


async def test_ready_reports_an_unreachable_database() -> None:
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/nowhere")
    app = create_app(settings, session_store=MemoryStore())
    async with app.lifespan(), http_client(app) as c:
        response = await c.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert {"name": "database", "ok": False} in body["checks"]
