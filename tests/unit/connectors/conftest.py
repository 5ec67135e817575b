"""Fixtures for connector tests: the four simulators on loopback and fresh runtimes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from connectors.payroll.simulator import create_simulator as payroll_sim
from connectors.procurement.simulator import create_simulator as procurement_sim
from connectors.scenario import ConnectorRuntime
from connectors.simulators import RunningSimulator, serve_simulator
from connectors.tax.simulator import create_simulator as tax_sim
from connectors.testing import SleepRecorder
from connectors.utilities.simulator import create_simulator as utilities_sim
from litestar import Litestar

from puhui.outbound import InMemoryLastGoodStore, RetryPolicy, UpstreamBreakers

FACTORIES: dict[str, Callable[[], Litestar]] = {
    "procurement": procurement_sim,
    "utilities": utilities_sim,
    "tax": tax_sim,
    "payroll": payroll_sim,
}


@pytest.fixture(scope="session")
def simulators() -> Iterator[dict[str, str]]:
    """All four simulators, fault-free, on loopback for the whole session."""
    running: dict[str, RunningSimulator] = {
        name: serve_simulator(factory()) for name, factory in FACTORIES.items()
    }
    yield {name: sim.base_url for name, sim in running.items()}
    for sim in running.values():
        sim.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def runtime(sleeps: SleepRecorder) -> ConnectorRuntime:
    """Fresh breakers and snapshots per test; retries record their waits instead of sleeping."""
    return ConnectorRuntime(
        breakers=UpstreamBreakers(),
        snapshots=InMemoryLastGoodStore(),
        retry=RetryPolicy(attempts=3, initial_backoff_s=0.05, max_backoff_s=0.2, jitter_s=0.01),
        sleep=sleeps,
    )
