"""What a read yields: provenance-stamped records, state checkpoints and typed errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec

from connectors.catalog import Access, Origin, Shape, Volatility
from connectors.quality import QualityReport
from connectors.spec import ConnectionMode

__all__ = [
    "ConfigError",
    "ConnectorError",
    "ConsentDenied",
    "Provenance",
    "ReadItem",
    "Record",
    "StateCheckpoint",
    "SyncState",
    "TransientError",
    "UpstreamDataError",
]


class Provenance(msgspec.Struct, frozen=True, kw_only=True):
    """Where a datum came from (JR/T 0269 6.3.2 c) and its data-element class (6.2.2)."""

    data_source: str  # connector name: the authoritative source
    collection_channel: ConnectionMode
    collection_object: str  # the enterprise's USCC
    data_type: str  # "<source>.<stream>"
    consent_id: str
    fetched_at: datetime
    schema_version: int
    connector_version: str
    origin: Origin
    access: Access
    volatility: Volatility
    shape: Shape
    # Set when served from the last-good snapshot during an upstream outage (6.3.2 d).
    snapshot_taken_at: datetime | None = None

    @property
    def degraded(self) -> bool:
        return self.snapshot_taken_at is not None


class Record(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One normalised record of a stream with its provenance and content hash.

    Not tracked by the garbage collector (``gc=False``): a record only refers to strings and
    to structs made before it, so it cannot be part of a reference cycle, and a 100,000-row
    file's records would otherwise set off full collections while they are stored.
    """

    stream: str
    key: str  # primary key values joined with "|"
    content_hash: str  # sha256 of the normalised record's canonical JSON
    data: msgspec.Struct
    provenance: Provenance


class SyncState(msgspec.Struct, frozen=True):
    """Incremental read position per stream: the upstream's opaque cursor after the last page."""

    cursors: Mapping[str, str] = msgspec.field(default_factory=dict)

    def cursor(self, stream: str) -> str | None:
        return self.cursors.get(stream)

    def advanced(self, stream: str, cursor: str | None) -> SyncState:
        if cursor is None:
            return self
        return SyncState({**self.cursors, stream: cursor})


class StateCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """Safe resume point: every record before it was yielded. Carries quality so far."""

    stream: str
    state: SyncState
    quality: QualityReport
    complete: bool


class ConnectorError(msgspec.Struct, frozen=True, kw_only=True):
    """A problem reading one stream; the read goes on with other streams unless stated."""

    stream: str | None
    message: str
    retryable: bool = False


class ConfigError(ConnectorError, frozen=True, kw_only=True):
    """The connector's configuration is invalid or rejected by the upstream (bad key)."""


class TransientError(ConnectorError, frozen=True, kw_only=True):
    """The upstream is unavailable for now (timeouts, 5xx, open circuit); retry later."""

    retryable: bool = True
    degraded: bool = False  # True when last-good data was served instead


class UpstreamDataError(ConnectorError, frozen=True, kw_only=True):
    """The upstream answered with a payload that breaks its contract (malformed, wrong shape)."""


class ConsentDenied(ConnectorError, frozen=True, kw_only=True):
    """The consent does not cover the stream, or was revoked or expired during the read."""

    missing_items: frozenset[str] = frozenset()
    revoked: bool = False  # True: the whole read stops, not just this stream


ReadItem = Record | StateCheckpoint | ConnectorError
