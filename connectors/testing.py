"""Test kit for connector authors: consent grants, simulator control, collecting a read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import httpx
import msgspec

from connectors.consent import ConsentGrant, always_valid
from connectors.contract import Connector
from connectors.records import ConnectorError, ReadItem, Record, StateCheckpoint, SyncState

__all__ = [
    "ReadResult",
    "SleepRecorder",
    "collect_read",
    "grant_for",
    "set_faults",
    "simulator_requests",
]

FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


class SleepRecorder:
    """Stands in for asyncio.sleep in retries: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def grant_for(
    uscc: str,
    items: dict[str, frozenset[str]],
    *,
    valid_until: datetime = FAR_FUTURE,
    is_still_valid: Callable[[], Awaitable[bool]] = always_valid,
) -> ConsentGrant:
    return ConsentGrant(
        consent_id=f"consent-{uscc[-6:]}",
        subject_uscc=uscc,
        data_items=items,
        valid_until=valid_until,
        is_still_valid=is_still_valid,
    )


class ReadResult(msgspec.Struct, frozen=True):
    """Everything one read yielded, split by kind, in order."""

    items: tuple[ReadItem, ...]

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(i for i in self.items if isinstance(i, Record))

    @property
    def checkpoints(self) -> tuple[StateCheckpoint, ...]:
        return tuple(i for i in self.items if isinstance(i, StateCheckpoint))

    @property
    def errors(self) -> tuple[ConnectorError, ...]:
        return tuple(i for i in self.items if isinstance(i, ConnectorError))

    def final_state(self, default: SyncState) -> SyncState:
        return self.checkpoints[-1].state if self.checkpoints else default


async def collect_read(
    connector: Connector,
    config: msgspec.Struct,
    consent: ConsentGrant,
    streams: Sequence[str],
    state: SyncState | None = None,
    *,
    stop_after_records: int | None = None,
) -> ReadResult:
    """Run a read to its end (or until ``stop_after_records`` records) and keep what it yielded."""
    items: list[ReadItem] = []
    seen = 0
    reader = connector.read(config, consent, streams, state or SyncState())
    async for item in reader:
        items.append(item)
        seen += isinstance(item, Record)
        if stop_after_records is not None and seen >= stop_after_records:
            break
    await reader.aclose()  # type: ignore[attr-defined]
    return ReadResult(tuple(items))


def simulator_requests(base_url: str, headers: dict[str, str]) -> dict[str, int]:
    """Requests a simulator has served, by path (control calls excluded)."""
    response = httpx.get(f"{base_url}/_control/stats", headers=headers)
    response.raise_for_status()
    counts: dict[str, int] = response.json()["requests"]
    return counts


def set_faults(base_url: str, headers: dict[str, str], **plan: object) -> None:
    """Replace a simulator's fault plan (see :class:`connectors.simulation.FaultPlan`)."""
    response = httpx.put(f"{base_url}/_control/faults", json=plan, headers=headers)
    response.raise_for_status()
