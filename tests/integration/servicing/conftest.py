"""Servicing tests run against the core-bank simulator on loopback and end with a ledger check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from litestar import Litestar
from litestar.stores.memory import MemoryStore
from tests.conftest import REDIS_URL
from tests.servicing_builders import CoreBankServer, assert_ledger_balanced, corebank_server

from puhui.app import create_app
from puhui.config import Settings


@pytest.fixture(scope="session")
def corebank() -> Iterator[CoreBankServer]:
    with corebank_server() as server:
        yield server


@pytest.fixture
def app(settings: Settings, corebank: CoreBankServer) -> Litestar:
    store = None if REDIS_URL else MemoryStore()
    return create_app(
        msgspec.structs.replace(settings, corebank_url=corebank.url), session_store=store
    )


@pytest.fixture(autouse=True)
async def ledger_balances_after_test(app: Litestar) -> AsyncIterator[None]:
    """Every servicing test leaves the ledger balanced: debits equal credits, entry by entry."""
    yield
    await assert_ledger_balanced(app)
