"""How an audit row becomes a hash-chain record: the one canonical body, shared by the writer
(sealing) and `puhui audit verify` (checking), so both hash exactly the same bytes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final

import msgspec

from puhui.security.auditchain import ChainEntry, canonical

__all__ = [
    "CHAINED_COLUMNS",
    "ChainRecord",
    "chain_body",
    "chain_record",
    "chain_value",
    "stored_entry",
]

# Every column a tamperer could change to mislead an auditor; bookkeeping columns
# (created_at/updated_at) and the chain columns themselves are excluded.
CHAINED_COLUMNS: Final = (
    "id",
    "occurred_at",
    "action",
    "outcome",
    "actor_tenant_id",
    "actor_member_id",
    "actor_client_id",
    "target_tenant_id",
    "target",
    "api_id",
    "api_level",
    "consent_id",
    "status_code",
    "latency_us",
    "request_id",
    "client_ip",
    "reason",
    "details",
)


def chain_value(value: Any) -> Any:
    """A column's value as the chain body holds it (UUIDs and datetimes as text)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


_PLAIN_TYPES: Final = (str, int, type(None))


def chain_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical, JSON-ready body of an audit row (without `day`/`seq`)."""
    get = row.get
    body: dict[str, Any] = {}
    for name in CHAINED_COLUMNS:
        value = get(name)
        # Most columns are already strings, ints or NULL; only those pay for a conversion.
        body[name] = value if isinstance(value, _PLAIN_TYPES) else chain_value(value)
    body["details"] = dict(get("details") or {})
    return body


class ChainRecord(msgspec.Struct):
    """A sealed record as `canonical` hashes it: the CHAINED_COLUMNS (values already as
    `chain_body` makes them), then `day` (ISO date) and `seq`. Encoded with sorted fields, it is
    byte for byte `canonical({**chain_body(row), "day": day, "seq": seq})`, without building
    and sorting two dicts per record (tests/unit/security/test_audit_fastpath.py)."""

    id: Any
    occurred_at: Any
    action: Any
    outcome: Any
    actor_tenant_id: Any
    actor_member_id: Any
    actor_client_id: Any
    target_tenant_id: Any
    target: Any
    api_id: Any
    api_level: Any
    consent_id: Any
    status_code: Any
    latency_us: Any
    request_id: Any
    client_ip: Any
    reason: Any
    details: Any
    day: str
    seq: int


def chain_record(row: Mapping[str, Any], day: str, seq: int) -> bytes:
    """`canonical({**chain_body(row), "day": day, "seq": seq})`: what `seal` hashes."""
    get = row.get
    values = [
        value if isinstance(value, _PLAIN_TYPES) else chain_value(value)
        for value in map(get, _COLUMNS_BEFORE_DETAILS)
    ]
    return canonical(_positional(*values, dict(get("details") or {}), day, seq))


_COLUMNS_BEFORE_DETAILS: Final = CHAINED_COLUMNS[:-1]  # `details` is last, copied as a dict
_positional: Final[Callable[..., ChainRecord]] = ChainRecord  # fields from a list: mypy can't count


def stored_entry(row: Mapping[str, Any]) -> ChainEntry:
    """A sealed row as the chain verifier sees it."""
    day: date = row["day"]
    record = {**chain_body(row), "day": day.isoformat(), "seq": row["seq"]}
    return ChainEntry(record, str(row["chain_hash"]))
