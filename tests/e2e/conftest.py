"""Browser tests: the app served by uvicorn on a loopback port against a fresh migrated and seeded
database, driven by Playwright through Debian's chromium (headless)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from tests.conftest import fresh_database_url, make_settings

from puhui.app import create_app
from puhui.config import Settings
from puhui.db.engine import create_engine
from puhui.db.migrate import upgrade
from puhui.db.session import SessionFactory
from puhui.seed import seed_sandbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("PUHUI_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (PUHUI_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await seed_sandbox(settings, SessionFactory(engine))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, worker_label: str) -> Iterator[str]:
    require_chromium()
    port = _free_port()
    url = fresh_database_url(tmp_path_factory.mktemp("e2e"), f"{worker_label}_e2e")
    settings = make_settings(url, issuer=f"http://127.0.0.1:{port}", sandbox=True)
    upgrade(settings)
    asyncio.run(_seed(settings))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start for the browser tests")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
