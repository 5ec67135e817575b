"""Records in and out of the canonical store: provenance columns and the sealed payload."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from connectors.catalog import StreamSpec
from connectors.records import Record

from puhui.clock import utcnow
from puhui.scenario.models import ScenarioRecord
from puhui.scenario.retention import retain_until
from puhui.security.fieldcrypto import field_aad
from puhui.security.keyring import keyring

__all__ = ["natural_key", "record_data", "record_row"]

_ENCODER = msgspec.json.Encoder()
_SEALED_CLASSES = frozenset({"C2", "C3"})


def natural_key(data_type: str, uscc: str, key: str) -> str:
    return f"{data_type}|{uscc}|{key}"


def _aad(key: str) -> bytes:
    return field_aad("scenario_records", "data", key)


def field_classes(spec: StreamSpec) -> dict[str, str]:
    return {f.name: str(f.classification) for f in spec.fields}


def record_row(
    record: Record,
    *,
    spec: StreamSpec,
    tenant_id: uuid.UUID | None,
    classes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Column values of ``record``; its data is sealed when the stream holds C2/C3 fields."""
    p = record.provenance
    classes = field_classes(spec) if classes is None else classes
    key = natural_key(p.data_type, p.collection_object, record.key)
    payload = _ENCODER.encode(record.data)
    sealed = any(c in _SEALED_CLASSES for c in classes.values())
    now = utcnow()
    return {
        "natural_key": key,
        "uscc": p.collection_object,
        "data_source": p.data_source,
        "data_type": p.data_type,
        "record_key": record.key,
        "content_hash": record.content_hash,
        "data": None if sealed else msgspec.json.decode(payload),
        "data_enc": keyring().encrypt(payload, _aad(key)) if sealed else None,
        "field_classes": dict(classes),
        "collection_channel": str(p.collection_channel),
        "collection_object": p.collection_object,
        "consent_id": p.consent_id,
        "fetched_at": p.fetched_at,
        "snapshot_taken_at": p.snapshot_taken_at,
        "schema_version": p.schema_version,
        "connector_version": p.connector_version,
        "origin": str(p.origin),
        "access": str(p.access),
        "volatility": str(p.volatility),
        "shape": str(p.shape),
        "collected_by_tenant_id": tenant_id,
        "retain_until": retain_until(p.data_source, p.fetched_at),
        "created_at": now,
        "updated_at": now,
    }


def record_data(row: ScenarioRecord, spec: StreamSpec) -> msgspec.Struct:
    """The stored record decoded back into its stream's record type."""
    if row.data_enc is not None:
        raw = keyring().decrypt(row.data_enc, _aad(row.natural_key))
        decoded: msgspec.Struct = msgspec.json.decode(raw, type=spec.record_type)
        return decoded
    converted: msgspec.Struct = msgspec.convert(row.data, type=spec.record_type)
    return converted
