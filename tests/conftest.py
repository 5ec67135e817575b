"""Test harness: one database per xdist worker, built by `alembic upgrade heads`.

SQLite by default; PostgreSQL when PUHUI_TEST_DATABASE_URL is set (a database per worker is
created beside it); Redis for shared state when PUHUI_TEST_REDIS_URL is set. Tests never clean
up by truncation: builders make fresh tenants with unique names, so tests are independent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.stores.memory import MemoryStore

from puhui.app import create_app
from puhui.clock import FrozenClock, set_clock, utcnow
from puhui.config import Settings, load_settings
from puhui.db.migrate import upgrade

PG_URL = os.environ.get("PUHUI_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("PUHUI_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@contextlib.contextmanager
def freeze_clock(at: datetime | None = None) -> Iterator[FrozenClock]:
    """A FrozenClock installed for the block (at `at`, else now); the previous clock after."""
    clock = FrozenClock(at or utcnow())
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    """The clock frozen at the test's start; `frozen.advance(...)` moves it."""
    with freeze_clock() as clock:
        yield clock


async def _pg_admin(base_url: str, *statements: str) -> None:
    """Run database-level statements (CREATE/DROP DATABASE) on the server's maintenance link."""
    import asyncpg

    conn = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _recreate_pg_database(base_url: str, name: str) -> str:
    await _pg_admin(
        base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    head, _, _ = base_url.rpartition("/")
    return f"{head}/{name}"


async def _drop_pg_database(base_url: str, name: str) -> None:
    await _pg_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database_url(tmp: Path, label: str) -> str:
    """A new, empty database: a SQLite file, or a PostgreSQL database named after the label."""
    if PG_URL:
        return asyncio.run(_recreate_pg_database(PG_URL, f"puhui_{label}"))
    return f"sqlite+aiosqlite:///{tmp / (label + '.db')}"


_KEY_DIR = Path(tempfile.mkdtemp(prefix="puhui-test-keys-"))


def make_settings(database_url: str, **overrides: object) -> Settings:
    overrides.setdefault("key_dir", _KEY_DIR)
    return load_settings(
        {},
        database_url=database_url,
        redis_url=REDIS_URL,
        environment="test",
        jobs_enabled=False,  # tests run jobs explicitly, never on a background timer
        log_json=True,
        log_level="WARNING",
        **overrides,
    )


@pytest.fixture(scope="session")
def worker_label(request: pytest.FixtureRequest) -> str:
    # xdist names workers gw0, gw1, ...; a plain run is "main" plus its process id, so that two
    # plain runs at once (two developers' terminals) never drop each other's PostgreSQL database.
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    return "test_" + str(worker or f"main{os.getpid()}")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, worker_label: str) -> Iterator[Settings]:
    url = fresh_database_url(tmp_path_factory.mktemp("db"), worker_label)
    s = make_settings(url)
    upgrade(s)
    yield s
    if PG_URL and worker_label.startswith("test_main"):  # a plain run's database is its own
        asyncio.run(_drop_pg_database(PG_URL, f"puhui_{worker_label}"))


@pytest.fixture
def app(settings: Settings) -> Iterator[Litestar]:
    store = None if REDIS_URL else MemoryStore()
    return create_app(settings, session_store=store)


def http_client(app: Litestar) -> httpx.AsyncClient:
    """An HTTP client that runs the app in the test's own event loop (as the builders do), so
    database connections are never shared across loops. Each client has its own cookie jar."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
    )


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with app.lifespan(), http_client(app) as c:
        yield c
