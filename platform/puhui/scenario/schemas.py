"""Scenario-connector schemas on the wire. Secrets go in, never out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from puhui.scenario.models import InstanceStatus, SyncOutcome

__all__ = [
    "BulkImportCreate",
    "CircuitRead",
    "ConnectorRead",
    "EnterpriseFeatures",
    "FeatureRead",
    "InstanceCreate",
    "InstanceHealth",
    "InstanceRead",
    "PushCreate",
    "QualityReportRead",
    "SyncCreate",
    "SyncRunRead",
]

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")]
ConnectorName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
StreamName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,79}$")]


class ConnectorRead(msgspec.Struct, frozen=True, kw_only=True):
    """A hosted connector: its manifest, streams and which config fields are secrets."""

    name: str
    version: str
    title: str
    category: str
    data_source: str
    auth_kind: str
    modes: list[str]
    streams: list[str]
    config_fields: list[str]
    secret_fields: list[str]
    features: list[str]


class InstanceCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: Name
    connector: ConnectorName
    config: dict[str, Any]


class InstanceRead(msgspec.Struct, frozen=True, kw_only=True):
    """An instance with its non-secret config; secret fields are named, never shown."""

    id: uuid.UUID
    name: str
    connector: str
    config: dict[str, Any]
    secret_fields_set: list[str]
    status: InstanceStatus
    is_sandbox: bool
    created_at: datetime
    version: int


class SyncCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    consent_id: uuid.UUID
    streams: Annotated[list[StreamName], msgspec.Meta(max_length=50)] | None = None


class PushCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A partner's push: rows of one stream about the consenting enterprise."""

    consent_id: uuid.UUID
    stream: StreamName
    items: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=5000)]


class BulkImportCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A bulk file (CSV or JSON lines) for one stream; each row needs one of the named consents."""

    stream: StreamName
    format: Literal["csv", "jsonl"]
    consent_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=1000)]
    content: Annotated[str, msgspec.Meta(min_length=1)]


class SyncRunRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    instance_id: uuid.UUID
    connector: str
    channel: str
    consent_id: str
    uscc: str | None
    streams: list[str]
    started_at: datetime
    finished_at: datetime | None
    outcome: SyncOutcome
    records_in: int
    records_inserted: int
    records_updated: int
    records_unchanged: int
    degraded: bool
    stale_since: datetime | None
    staleness_s: int | None
    errors: list[dict[str, Any]]


class QualityReportRead(msgspec.Struct, frozen=True, kw_only=True):
    stream: str
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    duplicates_removed: int
    superseded: int
    rejection_reasons: dict[str, int]
    rejection_samples: list[dict[str, Any]]
    null_per_mille: dict[str, int]


class FeatureRead(msgspec.Struct, frozen=True, kw_only=True):
    """A feature value: integers (fen, counts) as numbers, ratios as exact decimal strings."""

    name: str
    version: int
    data_source: str
    value: int | str | None
    as_of: date
    computed_at: datetime
    data_as_of: datetime
    reason: str | None
    source_records: int


class EnterpriseFeatures(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str
    features: list[FeatureRead]
    staleness_s_by_source: dict[str, int]


class CircuitRead(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    consecutive_failures: int
    opened_at: datetime | None
    probe_at: datetime | None


class InstanceHealth(msgspec.Struct, frozen=True, kw_only=True):
    """An instance as operators watch it: its upstream's circuit and its last sync."""

    instance_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    connector: str
    status: InstanceStatus
    circuit: CircuitRead
    last_sync_at: datetime | None
    last_outcome: SyncOutcome | None
    degraded: bool
    staleness_s: int | None
