"""Hash-chain maths for tamper-evident audit records (JR/T 0185-2020 audit logging).

Each day is its own chain: genesis = SHA-256 of the date, each link = SHA-256(prev || canonical
record). Records carry `day` (ISO date) and a per-day `seq` starting at 1, so removal, insertion
and reordering break either the sequence or a link. Truncating the tail of a day is only caught
against an anchored head (`expected_head`/`expected_count`), which the lead stores at day close.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import msgspec

__all__ = [
    "ChainCursor",
    "ChainEntry",
    "ChainReport",
    "canonical",
    "genesis_hash",
    "link_hash",
    "link_hash_of",
    "seal",
    "verify_chain",
]

_GENESIS_DOMAIN: Final = b"puhui-audit-genesis:"
_ENCODER: Final = msgspec.json.Encoder(order="sorted")


def canonical(record: Mapping[str, Any] | msgspec.Struct) -> bytes:
    """Deterministic JSON: keys sorted at every level, no whitespace, UTF-8.

    A Struct encodes exactly as the dict of its fields would: `order="sorted"` sorts struct
    fields by name too (the audit writer builds its records as one, skipping the dict).
    """
    return _ENCODER.encode(record)


def genesis_hash(day: date) -> str:
    """The `prev_hash` of a day's first record, derived from the date alone."""
    return hashlib.sha256(_GENESIS_DOMAIN + day.isoformat().encode("ascii")).hexdigest()


def link_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """SHA-256 hex over the previous hash and the canonical record."""
    return link_hash_of(prev_hash, canonical(record))


def link_hash_of(prev_hash: str, canonical_record: bytes) -> str:
    """`link_hash` of a record already in canonical form (`canonical(record)`)."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_record).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """A stored audit record and the link hash stored with it."""

    record: Mapping[str, Any]
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    first_bad_index: int | None = None
    reason: str | None = None


class ChainCursor:
    """The end of one day's chain while records are appended to it: the last `seq` and link
    hash (genesis before the first record). `seal` appends one record; the audit writer appends
    a batch, its records already in canonical form."""

    __slots__ = ("date", "day", "hash", "seq")

    def __init__(self, day: date, prev: ChainEntry | None) -> None:
        self.date = day
        self.day = day.isoformat()
        if prev is None:
            self.seq, self.hash = 0, genesis_hash(day)
        else:
            if prev.record.get("day") != self.day:
                raise ValueError("previous entry belongs to another day")
            self.seq, self.hash = int(prev.record["seq"]), prev.hash

    def push(self, record: bytes) -> str:
        """Link the next record, given as `canonical` bytes carrying seq `self.seq + 1`."""
        self.seq += 1
        self.hash = link_hash_of(self.hash, record)
        return self.hash


def seal(prev: ChainEntry | None, day: date, body: Mapping[str, Any]) -> ChainEntry:
    """Append `body` to a day's chain: sets `day` and the next `seq`, returns the entry to store."""
    if "day" in body or "seq" in body:
        raise ValueError("`day` and `seq` are set by the chain, not the caller")
    cursor = ChainCursor(day, prev)
    record = {**body, "day": cursor.day, "seq": cursor.seq + 1}
    return ChainEntry(record, cursor.push(canonical(record)))


def verify_chain(
    entries: Sequence[ChainEntry],
    *,
    day: date | None = None,
    expected_head: str | None = None,
    expected_count: int | None = None,
) -> ChainReport:
    """Check one day's entries, in stored order, from genesis; report the first bad index."""
    if not entries:
        if expected_count:
            return ChainReport(False, 0, "chain is empty but records were anchored")
        return ChainReport(True)
    first_day = entries[0].record.get("day")
    chain_day = day.isoformat() if day is not None else first_day
    try:
        prev_hash = genesis_hash(date.fromisoformat(str(chain_day)))
    except ValueError:
        return ChainReport(False, 0, "record has no valid day")
    for index, entry in enumerate(entries):
        record = entry.record
        if record.get("day") != chain_day:
            return ChainReport(False, index, "record belongs to another day")
        if record.get("seq") != index + 1:
            return ChainReport(False, index, "sequence break: record removed, inserted or moved")
        if link_hash(prev_hash, record) != entry.hash:
            return ChainReport(False, index, "hash mismatch: record or its link was altered")
        prev_hash = entry.hash
    if expected_count is not None and len(entries) != expected_count:
        index = min(len(entries), expected_count)
        return ChainReport(False, index, "record count differs from anchor")
    if expected_head is not None and prev_hash != expected_head:
        return ChainReport(False, len(entries) - 1, "head hash differs from anchor")
    return ChainReport(True)
