"""The canonical per-enterprise model: records grouped by USCC and data type (JR/T 0269 6.4.2 c)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TypeVar

import msgspec

from connectors.records import Record

__all__ = ["EnterpriseDataset", "group_by_enterprise"]

T = TypeVar("T", bound=msgspec.Struct)


class EnterpriseDataset(msgspec.Struct, frozen=True):
    """All current records of one enterprise, by data type ("<source>.<stream>")."""

    uscc: str
    records: Mapping[str, tuple[msgspec.Struct, ...]]

    def of(self, data_type: str, record_type: type[T]) -> tuple[T, ...]:
        """Records of one data type, checked to be of ``record_type``."""
        rows = self.records.get(data_type, ())
        return tuple(r for r in rows if isinstance(r, record_type))


def group_by_enterprise(records: Iterable[Record]) -> dict[str, EnterpriseDataset]:
    """Integrate records by business subject; a later record with the same key supersedes."""
    latest: dict[str, dict[str, dict[str, msgspec.Struct]]] = defaultdict(lambda: defaultdict(dict))
    for record in records:
        subject = record.provenance.collection_object
        latest[subject][record.provenance.data_type][record.key] = record.data
    return {
        uscc: EnterpriseDataset(uscc, {dt: tuple(rows.values()) for dt, rows in by_type.items()})
        for uscc, by_type in latest.items()
    }
