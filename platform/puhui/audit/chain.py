"""How an audit row becomes a hash-chain record: the one canonical body, shared by the writer
(sealing) and `puhui audit verify` (checking), so both hash exactly the same bytes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from puhui.security.auditchain import ChainEntry

__all__ = ["CHAINED_COLUMNS", "chain_body", "stored_entry"]

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


def _plain(value: Any) -> Any:
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
        body[name] = value if isinstance(value, _PLAIN_TYPES) else _plain(value)
    body["details"] = dict(get("details") or {})
    return body


def stored_entry(row: Mapping[str, Any]) -> ChainEntry:
    """A sealed row as the chain verifier sees it."""
    day: date = row["day"]
    record = {**chain_body(row), "day": day.isoformat(), "seq": row["seq"]}
    return ChainEntry(record, str(row["chain_hash"]))
