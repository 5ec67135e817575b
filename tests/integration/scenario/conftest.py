"""The four simulators on loopback for the scenario tests (one set per test worker)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from connectors.simulators import RunningSimulator

from puhui.scenario.sandbox import SANDBOX_UPSTREAMS, sandbox_config, start_simulators


@pytest.fixture(scope="session")
def upstreams() -> Iterator[dict[str, str]]:
    running: dict[str, RunningSimulator] = start_simulators()
    yield {name: sim.base_url for name, sim in running.items()}
    for sim in running.values():
        sim.stop()


def control_headers(connector: str) -> dict[str, str]:
    upstream = SANDBOX_UPSTREAMS[connector]
    if upstream.credential_field == "access_token":
        return {"authorization": f"Bearer {upstream.credential}"}
    return {"x-api-key": upstream.credential}


@pytest.fixture(scope="session")
def _control() -> Iterator[httpx.Client]:
    with httpx.Client() as control:
        yield control


@pytest.fixture(autouse=True)
def _no_faults_left(upstreams: dict[str, str], _control: httpx.Client) -> Iterator[None]:
    """Fault plans live in the shared simulators: every test starts and ends without one."""
    yield
    for name, base_url in upstreams.items():
        _control.put(f"{base_url}/_control/faults", json={}, headers=control_headers(name))


__all__ = ["control_headers", "sandbox_config"]
