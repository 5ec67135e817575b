"""The full authlib-driven flow against the real server: uvicorn with two workers over HTTP.

The server is `uvicorn puhui.app:create_app --factory --workers 2`, exactly what `puhui serve
--workers 2` runs (which also sets PUHUI_WORKERS for the workers, done here by hand), started
directly so the test can lengthen uvicorn's worker health-check timeout. Runs on the test
database (SQLite in WAL mode, or PostgreSQL) and on Redis when PUHUI_TEST_REDIS_URL is set.

To know which worker serves a request, the other worker is paused (SIGSTOP) while the request
is made on a fresh connection: only the running worker can accept it. So "the customer revokes
in worker A, the partner's next call to worker B fails" is exact, not left to the kernel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from litestar import Litestar
from tests.builders import create_tenant
from tests.conftest import REDIS_URL
from tests.consent_builders import create_customer, customer_signs_in, form_token
from tests.integration.oauth.fapi_flow import (
    call_is_refused_for_revocation,
    call_succeeds,
    grant_through_the_browser,
    partner_requests_consent,
    refresh_rotates,
)
from tests.oauth_builders import FapiClient, create_client

from puhui.config import Settings

pytestmark = pytest.mark.anyio
STARTUP_SECONDS = 90.0
_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)  # every request: a new connection


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The uvicorn worker processes of the server (spawned children, not the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _sqlite_writable(path: Path | None) -> bool:
    """No connection holds SQLite's write lock now (always True for PostgreSQL)."""
    if path is None:
        return True
    connection = sqlite3.connect(path, timeout=0.2)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def _postgres_quiet(database_url: str | None) -> bool:
    """No other connection to the test database is inside a transaction now (always True for
    SQLite): a worker paused mid-transaction (e.g. its audit writer holding the chain's lock)
    would stall the other worker. Asked from a thread: the test's own event loop is running."""
    if database_url is None:
        return True

    async def busy() -> int:
        import asyncpg

        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                )
            )
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, busy()).result(timeout=10) == 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    issuer: str
    workers: list[int]
    log: Path
    sqlite_path: Path | None = None
    postgres_url: str | None = None

    @contextlib.contextmanager
    def only(self, worker: int) -> Iterator[None]:
        """While inside, only `worker` accepts connections (the others are paused).

        A worker is never left paused while it holds SQLite's write lock or is inside a
        PostgreSQL transaction (a group-committed audit record may still be on its way after the
        response): then it is resumed for a moment and paused again.
        """
        paused = [pid for pid in self.workers if pid != worker]
        for _ in range(50):
            for pid in paused:
                os.kill(pid, signal.SIGSTOP)
            if _sqlite_writable(self.sqlite_path) and _postgres_quiet(self.postgres_url):
                break
            for pid in paused:
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.1)
        else:
            pytest.fail("a worker kept the database locked")
        try:
            yield
        finally:
            for pid in paused:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pytest.fail(f"worker {pid} was replaced while paused:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.output()}")
        server.workers = _children(server.process.pid)
        if len(server.workers) == 2:
            try:
                for worker in server.workers:  # each worker answers on its own
                    with server.only(worker):
                        ready = httpx.get(f"{server.issuer}/health/live", timeout=2.0)
                        ready.raise_for_status()
                return
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    pytest.fail(f"server not serving with two workers in {STARTUP_SECONDS} s:\n{server.output()}")


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": settings.database_url,
        "PUHUI_REDIS_URL": REDIS_URL or "",
        "PUHUI_KEY_DIR": str(settings.key_dir),
        "PUHUI_VAR_DIR": str(tmp_path),
        "PUHUI_ISSUER": issuer,
        "PUHUI_SANDBOX": "true",
        "PUHUI_ENVIRONMENT": "test",
        "PUHUI_LOG_LEVEL": "WARNING",
        "PUHUI_JOBS_ENABLED": "false",  # a paused worker must not hold a job's write lock
        "PUHUI_WORKERS": "2",  # as `puhui serve --workers 2` sets it for its workers
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [
                sys.executable,
                "-m",
                "uvicorn",
                "puhui.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
                "--no-access-log",
                # a paused worker misses health checks; the supervisor must not replace it
                "--timeout-worker-healthcheck",
                "120",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: torn down as one
        )
    postgres = None if settings.is_sqlite else settings.database_url
    running = Server(process, issuer, [], log, settings.sqlite_path, postgres)
    try:
        _wait_until_serving(running)
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):
            for pid in running.workers:
                os.kill(pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextlib.asynccontextmanager
async def _browser(issuer: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=issuer, limits=_NO_KEEPALIVE, timeout=20.0) as http:
        yield http


async def test_full_flow_on_two_workers_and_revocation_crosses_workers(
    app: Litestar, server: Server
) -> None:
    # `app` is not served: it shares the server's database to build rows and read the OTP.
    tenant = await create_tenant(app)
    registered = await create_client(
        app,
        tenant,
        grant_types=("authorization_code", "client_credentials", "refresh_token"),
        scopes=("accounts.read", "consents"),
    )
    customer = await create_customer(app)
    first, second = server.workers
    async with (
        FapiClient(registered, issuer=server.issuer, limits=_NO_KEEPALIVE, timeout=20.0) as oauth,
        _browser(server.issuer) as browser,
    ):
        consent_id = await partner_requests_consent(oauth, customer)
        await grant_through_the_browser(app, oauth, browser, customer, consent_id)
        await refresh_rotates(oauth)
        for worker in (first, second):  # the rotated token works on either worker
            with server.only(worker):
                await call_succeeds(oauth, consent_id, customer)

        # The customer revokes in the consent centre; the revocation is served by the first ...
        start = await browser.get("/consent-centre/")
        assert start.status_code == 200, start.text
        assert (await customer_signs_in(app, browser, customer, start=start.text)).is_redirect
        centre = await browser.get("/consent-centre/")
        with server.only(first):
            revoked = await browser.post(
                f"/consent-centre/consents/{consent_id}/revoke",
                data={"_csrf": form_token(centre.text)},
            )
        assert revoked.status_code == 303, revoked.text
        # ... and the partner's very next call, served by the second worker, fails at once.
        with server.only(second):
            await call_is_refused_for_revocation(oauth)
        with server.only(first):
            await call_is_refused_for_revocation(oauth)
        with pytest.raises(OAuthError) as refused:
            await oauth.refresh_token()
        assert refused.value.error == "invalid_grant"
    assert server.process.poll() is None, server.output()
