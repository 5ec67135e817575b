"""Data-quality report of one sync or import (JR/T 0269 6.4.2 b, d: clean, then keep monitoring)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import msgspec

__all__ = ["QualityReport", "QualityTally", "Rejection"]

_MAX_SAMPLES = 20


class Rejection(msgspec.Struct, frozen=True):
    """A row that could not be normalised, with the reason a data steward can act on."""

    row: int
    reason: str


class QualityReport(msgspec.Struct, frozen=True, kw_only=True):
    """Rows in, accepted, rejected (with reasons), duplicates removed and null rate per field."""

    stream: str
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    duplicates_removed: int
    superseded: int
    rejection_reasons: Mapping[str, int]
    rejection_samples: tuple[Rejection, ...]
    # Share of input rows where the field was absent, null or blank, in parts per thousand.
    null_per_mille: Mapping[str, int]


class QualityTally:
    """Accumulates the counts behind a :class:`QualityReport` while rows stream through."""

    def __init__(self, stream: str, fields: Iterable[str]) -> None:
        self.stream = stream
        self._fields = tuple(fields)
        self.rows_in = 0
        self.rows_accepted = 0
        self.duplicates_removed = 0
        self.superseded = 0
        self._reasons: Counter[str] = Counter()
        self._samples: list[Rejection] = []
        self._nulls: Counter[str] = Counter()

    def saw(self, raw: Mapping[str, object], raw_fields: Iterable[str]) -> int:
        """Count one input row and its blank fields; returns the row's 1-based number."""
        self.rows_in += 1
        for name in raw_fields:
            value = raw.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                self._nulls[name] += 1
        return self.rows_in

    def rejected(self, row: int, reason: str) -> None:
        self._reasons[reason.split(":", 1)[0]] += 1
        if len(self._samples) < _MAX_SAMPLES:
            self._samples.append(Rejection(row, reason))

    def report(self, raw_fields: Iterable[str]) -> QualityReport:
        rows = self.rows_in or 1
        return QualityReport(
            stream=self.stream,
            rows_in=self.rows_in,
            rows_accepted=self.rows_accepted,
            rows_rejected=sum(self._reasons.values()),
            duplicates_removed=self.duplicates_removed,
            superseded=self.superseded,
            rejection_reasons=dict(self._reasons),
            rejection_samples=tuple(self._samples),
            null_per_mille={name: self._nulls[name] * 1000 // rows for name in raw_fields},
        )
