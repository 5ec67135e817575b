"""Browser tests: the app served by uvicorn on a loopback port against a fresh migrated and seeded
database (plus credit applications referred to manual review), driven by Playwright through
Debian's chromium (headless). Waits are Playwright's own, generous for a loaded 2-core machine;
no test sleeps for a fixed time."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.conftest import fresh_database_url, make_settings
from tests.portal_builders import referred_credit_case

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
WAIT_MS = 40_000  # every wait and action: generous, the machine is shared
expect.set_options(timeout=WAIT_MS)  # assertions retry this long, not Playwright's 5 s default
CREDIT_CASES = 3  # one each to approve, decline and return from the browser


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings
    credit_applications: tuple[str, ...]  # application ids waiting in the manual review queue


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


async def _seed(settings: Settings) -> tuple[str, ...]:
    """The sandbox seed, then credit applications referred to manual review through the API."""
    engine = create_engine(settings)
    try:
        await seed_sandbox(settings, SessionFactory(engine))
    finally:
        await engine.dispose()
    app = create_app(settings)
    async with app.lifespan():
        return tuple([await referred_credit_case(app) for _ in range(CREDIT_CASES)])


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, worker_label: str) -> Iterator[LiveServer]:
    require_chromium()
    port = _free_port()
    url = fresh_database_url(tmp_path_factory.mktemp("e2e"), f"{worker_label}_e2e")
    settings = make_settings(url, issuer=f"http://127.0.0.1:{port}", sandbox=True)
    upgrade(settings)
    applications = asyncio.run(_seed(settings))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a loaded 2-core machine starts slowly
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start for the browser tests")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings, applications)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_server(live: LiveServer) -> str:
    return live.url


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser(live: LiveServer) -> Iterator[Browser]:
    """After the server: Playwright's sync API runs an event loop, so seeding (asyncio) first.

    Per module, not per session: while Playwright runs, no other test in this worker could
    call ``asyncio.run`` (the session's database fixtures do), so it stops with the module."""
    require_chromium()
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def new_page(browser: Browser, base: str, locale: str = "en-US") -> Page:
    context = browser.new_context(
        base_url=base, locale=locale, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    return context.new_page()


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/portal/sign-in")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
