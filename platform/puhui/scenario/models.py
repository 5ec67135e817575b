"""Tables of the scenario domain: partner-configured instances, sync runs, and the bank's stores.

Instances, runs, quality reports and cursors belong to the partner tenant that configured the
instance. Records, features and last-good snapshots are the bank's data about an enterprise,
held under the customer's consent: they are not partner-owned and no partner route reads them.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from puhui.db.base import Base, JsonDocument, TenantOwned, Versioned

__all__ = [
    "ConnectorInstance",
    "FeatureRow",
    "InstanceStatus",
    "LastGoodSnapshot",
    "QualityReportRow",
    "ScenarioDataKey",
    "ScenarioRecord",
    "ScenarioRecordSchema",
    "SyncCursor",
    "SyncOutcome",
    "SyncRun",
]


class InstanceStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class SyncOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every requested stream read to its end
    PARTIAL = "partial"  # some streams failed or were refused; the rest was stored
    DEGRADED = "degraded"  # an outage: last-good data served, staleness recorded
    STOPPED = "stopped"  # the consent was revoked or expired mid-sync (JR/T 0269 6.1)
    FAILED = "failed"  # nothing could be read


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class ConnectorInstance(TenantOwned, Versioned, Base):
    """A partner's configuration of one connector; credentials sealed at rest, never shown back."""

    __tablename__ = "scenario_connector_instances"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(80))
    connector: Mapped[str] = mapped_column(String(40), index=True)
    # Non-secret config fields only; secret fields live in ``secrets_enc``.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # AES-256-GCM envelope of the secret fields as JSON, bound to this row (JR/T 0171 C3).
    secrets_enc: Mapped[str | None] = mapped_column(Text)
    secret_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[InstanceStatus] = mapped_column(_enum(InstanceStatus, "instance_status"))
    is_sandbox: Mapped[bool] = mapped_column(default=False)


class SyncRun(TenantOwned, Base):
    """One collection under one consent: when, how it ended, what it stored, how stale it is."""

    __tablename__ = "scenario_sync_runs"
    __table_args__ = (Index(None, "instance_id", "started_at"),)

    instance_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scenario_connector_instances.id", ondelete="CASCADE")
    )
    connector: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    consent_id: Mapped[str] = mapped_column(String(64), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    streams: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[SyncOutcome] = mapped_column(_enum(SyncOutcome, "sync_outcome"))
    records_in: Mapped[int] = mapped_column(Integer, default=0)
    records_inserted: Mapped[int] = mapped_column(Integer, default=0)
    records_updated: Mapped[int] = mapped_column(Integer, default=0)
    records_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # JR/T 0269 6.3.2 d: degraded mode and the age of the last-good data it served.
    degraded: Mapped[bool] = mapped_column(default=False)
    stale_since: Mapped[datetime | None] = mapped_column()
    staleness_s: Mapped[int | None] = mapped_column(Integer)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class QualityReportRow(TenantOwned, Base):
    """Data-quality metrics of one stream in one sync run (JR/T 0269 6.4.2 b, d)."""

    __tablename__ = "scenario_quality_reports"

    sync_run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scenario_sync_runs.id", ondelete="CASCADE"), index=True
    )
    stream: Mapped[str] = mapped_column(String(80))
    rows_in: Mapped[int] = mapped_column(Integer)
    rows_accepted: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    duplicates_removed: Mapped[int] = mapped_column(Integer)
    superseded: Mapped[int] = mapped_column(Integer)
    rejection_reasons: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    rejection_samples: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    null_per_mille: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class SyncCursor(TenantOwned, Base):
    """Incremental position of one instance in one stream for one enterprise.

    Written in the same transaction as the records it covers, so a crash never skips data.
    """

    __tablename__ = "scenario_sync_cursors"
    __table_args__ = (UniqueConstraint("instance_id", "stream", "uscc"),)

    instance_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scenario_connector_instances.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(String(80))
    uscc: Mapped[str] = mapped_column(String(18))
    cursor: Mapped[str] = mapped_column(String(500))


class ScenarioDataKey(Base):
    """One batch's data-encryption key, wrapped by the field keyring's KEK (JR/T 0171 C2/C3).

    Envelope encryption per batch: every sealed record of a stored batch is an AES-256-GCM value
    under this DEK (own nonce, bound to the record's natural key); ``wrapped_dek`` is the DEK
    sealed by the keyring (``v<kek_version>:...``). Destroying the key destroys what it sealed.
    """

    __tablename__ = "scenario_data_keys"

    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped_dek: Mapped[str] = mapped_column(Text)


class ScenarioRecordSchema(Base):
    """The data-element classes (JR/T 0269 6.2.2) of one data type's fields at one schema version.

    Kept once per stream schema rather than on every record: every record of a data type and
    schema version shares them. The store writes them with each batch it stores (rewritten
    when the catalogue reclassifies a field).
    """

    __tablename__ = "scenario_record_schemas"
    __table_args__ = (UniqueConstraint("data_type", "schema_version"),)

    data_type: Mapped[str] = mapped_column(String(80))
    schema_version: Mapped[int] = mapped_column(Integer)
    # Field name -> class ("C1" ... "C3").
    field_classes: Mapped[dict[str, str]] = mapped_column(JsonDocument)


class ScenarioRecord(Base):
    """One canonical record about an enterprise, with its provenance (JR/T 0269 6.3.2 c, 6.4.2 c).

    ``natural_key`` = data type | USCC | record key: the upsert key that makes reruns idempotent.
    Its fields' data-element classes are those of its data type and schema version
    (:class:`ScenarioRecordSchema`).
    """

    __tablename__ = "scenario_records"
    __table_args__ = (Index(None, "uscc", "data_source"), Index(None, "consent_id"))

    natural_key: Mapped[str] = mapped_column(String(320), unique=True)
    uscc: Mapped[str] = mapped_column(String(18))
    data_source: Mapped[str] = mapped_column(String(40))
    data_type: Mapped[str] = mapped_column(String(80))
    record_key: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    # The normalised record as JSON; sealed when the stream has C2/C3 fields (JR/T 0171).
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data_enc: Mapped[str | None] = mapped_column(Text)
    # The batch key ``data_enc`` is sealed with; None for values sealed by the keyring directly.
    data_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("scenario_data_keys.id", ondelete="RESTRICT"), index=True
    )
    # Loaded with the record, so a record decodes without another query.
    data_key: Mapped[ScenarioDataKey | None] = relationship(lazy="joined", viewonly=True)
    collection_channel: Mapped[str] = mapped_column(String(20))
    collection_object: Mapped[str] = mapped_column(String(18))
    consent_id: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column()
    snapshot_taken_at: Mapped[datetime | None] = mapped_column()
    schema_version: Mapped[int] = mapped_column(Integer)
    connector_version: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(20))
    access: Mapped[str] = mapped_column(String(20))
    volatility: Mapped[str] = mapped_column(String(20))
    shape: Mapped[str] = mapped_column(String(20))
    collected_by_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL")
    )
    # JR/T 0269 6.1: per-source retention; the retention job destroys rows past this.
    retain_until: Mapped[datetime] = mapped_column(index=True)


class FeatureRow(Base):
    """The latest value of one versioned feature for one enterprise, with its inputs' age."""

    __tablename__ = "scenario_features"
    __table_args__ = (
        UniqueConstraint("uscc", "name", "version"),
        # Batch reads (featurestore.latest_values_many) are answered from this index alone.
        Index(
            "ix_scenario_features_lookup",
            "uscc", "name", "version", "data_source", "value_kind", "value_text", "data_as_of",
        ),
    )  # fmt: skip

    uscc: Mapped[str] = mapped_column(String(18))
    data_source: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    value_kind: Mapped[str] = mapped_column(String(10))  # int | decimal | code | none
    value_text: Mapped[str | None] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(64))
    # When the newest data behind the value was fetched (or snapshotted, in degraded mode).
    data_as_of: Mapped[datetime] = mapped_column()
    source_records: Mapped[list[str]] = mapped_column(JsonDocument, default=list)


class LastGoodSnapshot(Base):
    """The last good upstream response per request, kept so degraded mode survives restarts."""

    __tablename__ = "scenario_last_good"

    key: Mapped[str] = mapped_column(String(500), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    taken_at: Mapped[datetime] = mapped_column()
