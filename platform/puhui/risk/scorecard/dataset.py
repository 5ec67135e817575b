"""Development data for a scorecard: any tabular CSV read into numeric and categorical columns.

Numeric versus categorical is detected per column; identifier-like, constant, empty and free-text
columns are set aside with a stated reason so the analyst sees why they were not used.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from puhui.risk.scorecard.errors import ScorecardDataError

__all__ = [
    "DEFAULT_BAD_VALUES",
    "MISSING_TOKENS",
    "CategoricalColumn",
    "Column",
    "Dataset",
    "ExcludedColumn",
    "NumericColumn",
    "TargetRule",
    "is_missing_token",
    "load_csv",
]

MISSING_TOKENS: Final = frozenset({"", "na", "n/a", "null", "nan", "none"})
DEFAULT_BAD_VALUES: Final = frozenset({"1", "bad", "yes", "true"})
_DELIMITERS: Final = (",", ";", "\t", "|")
# A text column with more distinct values than this share of its rows is free text, not a category.
_FREE_TEXT_SHARE: Final = 0.5
_FREE_TEXT_MIN_DISTINCT: Final = 50

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


def is_missing_token(raw: str) -> bool:
    """True for the spellings of 'no value' found in bank extracts: empty, NA, N/A, null, NaN."""
    return raw.strip().lower() in MISSING_TOKENS


@dataclass(frozen=True, slots=True)
class NumericColumn:
    """A numeric feature; missing values are NaN."""

    name: str
    values: FloatArray

    def take(self, rows: npt.NDArray[np.intp]) -> NumericColumn:
        return NumericColumn(self.name, self.values[rows])


@dataclass(frozen=True, slots=True)
class CategoricalColumn:
    """A categorical feature; values are stripped strings, missing values are None."""

    name: str
    values: ObjectArray

    def take(self, rows: npt.NDArray[np.intp]) -> CategoricalColumn:
        return CategoricalColumn(self.name, self.values[rows])


Column = NumericColumn | CategoricalColumn


@dataclass(frozen=True, slots=True)
class ExcludedColumn:
    """A column not offered to the model, and why."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class TargetRule:
    """Which target values mean 'bad' (default); any other non-missing value means 'good'."""

    bad_value: str | None = None

    def is_bad(self, raw: str) -> bool:
        text = raw.strip().lower()
        if self.bad_value is None:
            return text in DEFAULT_BAD_VALUES or _as_float(text) == 1.0
        wanted = self.bad_value.strip().lower()
        if text == wanted:
            return True
        number, wanted_number = _as_float(text), _as_float(wanted)
        return number is not None and number == wanted_number

    def describe(self) -> str:
        if self.bad_value is None:
            return "1 / bad / yes / true"
        return self.bad_value


@dataclass(frozen=True, slots=True)
class Dataset:
    """Feature columns plus the 0/1 bad flag, with the provenance a model file must record."""

    columns: Mapping[str, Column]
    bad: npt.NDArray[np.int8]
    target: str
    target_rule: TargetRule
    sha256: str
    source: str
    excluded: tuple[ExcludedColumn, ...] = ()
    rows_without_target: int = 0

    @property
    def n_rows(self) -> int:
        return int(self.bad.shape[0])

    @property
    def n_bad(self) -> int:
        return int(self.bad.sum())

    def take(self, rows: npt.NDArray[np.intp]) -> Dataset:
        """The same dataset restricted to `rows` (used for the train/test split)."""
        return Dataset(
            columns={name: column.take(rows) for name, column in self.columns.items()},
            bad=self.bad[rows],
            target=self.target,
            target_rule=self.target_rule,
            sha256=self.sha256,
            source=self.source,
            excluded=self.excluded,
            rows_without_target=self.rows_without_target,
        )


def load_csv(
    path: Path | str,
    *,
    target: str,
    bad_value: str | None = None,
    exclude: Sequence[str] = (),
) -> Dataset:
    """Read a development CSV; raises ScorecardDataError with a plain message on unusable input."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ScorecardDataError(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScorecardDataError(
            f"{source.name} is not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"
        ) from exc
    return parse_csv_text(
        text,
        target=target,
        rule=TargetRule(bad_value),
        sha256=hashlib.sha256(raw).hexdigest(),
        source=source.name,
        exclude=exclude,
    )


def parse_csv_text(
    text: str,
    *,
    target: str,
    rule: TargetRule,
    sha256: str,
    source: str,
    exclude: Sequence[str] = (),
) -> Dataset:
    """Parse CSV text already read from `source`; see load_csv."""
    if not text.strip():
        raise ScorecardDataError(f"{source} is empty")
    header_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = [name.strip() for name in rows[0]]
    _check_header(header, source)
    body: list[list[str]] = []
    for line_number, row in enumerate(rows[1:], start=2):
        if len(row) == len(header):
            body.append(row)
        elif any(cell.strip() for cell in row):
            raise ScorecardDataError(
                f"{source} line {line_number} has {len(row)} fields "
                f"but the header has {len(header)}"
            )
    if not body:
        raise ScorecardDataError(f"{source} has a header but no data rows")
    if target not in header:
        raise ScorecardDataError(
            f"target column {target!r} is not in {source}; columns are: {', '.join(header)}"
        )

    cells = list(zip(*body, strict=True))
    target_cells = cells[header.index(target)]
    outcomes = {
        cell: None if is_missing_token(cell) else rule.is_bad(cell) for cell in set(target_cells)
    }
    kept_rows = [row for row, cell in enumerate(target_cells) if outcomes[cell] is not None]
    if not kept_rows:
        raise ScorecardDataError(f"target column {target!r} has no values")
    all_kept = len(kept_rows) == len(target_cells)
    bad = np.array([bool(outcomes[target_cells[row]]) for row in kept_rows], dtype=np.int8)
    n_bad = int(bad.sum())
    if n_bad == 0 or n_bad == bad.shape[0]:
        only = "bad" if n_bad else "good"
        raise ScorecardDataError(
            f"target column {target!r} has only one class ({only}) when bad means "
            f"{rule.describe()}; a scorecard needs both good and bad outcomes "
            "(use --bad-value to say which value means bad)"
        )

    excluded: list[ExcludedColumn] = []
    columns: dict[str, Column] = {}
    exclusions = set(exclude)
    unknown = exclusions - set(header)
    if unknown:
        raise ScorecardDataError(f"cannot exclude unknown column(s): {', '.join(sorted(unknown))}")
    for index, name in enumerate(header):
        if name == target:
            continue
        if name in exclusions:
            excluded.append(ExcludedColumn(name, "excluded by the analyst"))
            continue
        column_cells = cells[index]
        if all_kept:
            values = [cell.strip() for cell in column_cells]
        else:
            values = [column_cells[row].strip() for row in kept_rows]
        column, reason = _type_column(name, values)
        if column is None:
            excluded.append(ExcludedColumn(name, reason))
        else:
            columns[name] = column
    return Dataset(
        columns=columns,
        bad=bad,
        target=target,
        target_rule=rule,
        sha256=sha256,
        source=source,
        excluded=tuple(excluded),
        rows_without_target=len(body) - len(kept_rows),
    )


def _check_header(header: list[str], source: str) -> None:
    if any(not name for name in header):
        raise ScorecardDataError(f"{source} has a column without a name in its header")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ScorecardDataError(f"{source} has the column {name!r} twice")
        seen.add(name)


def _type_column(name: str, values: list[str]) -> tuple[Column | None, str]:
    # Work on distinct values first: far cheaper than per-cell checks on large files.
    distinct = set(values)
    spellings = {value for value in distinct if value.lower() in MISSING_TOKENS}
    present = [value for value in values if value not in spellings] if spellings else values
    if not present:
        return None, "empty: every value is missing"
    distinct -= spellings
    if len(distinct) == 1:
        return None, f"constant: the only value is {present[0]!r}"
    numeric = _as_numeric(values, present, spellings)
    if numeric is not None:
        return NumericColumn(name, numeric), ""
    if len(distinct) == len(present):
        return None, "identifier-like: every value is a unique text"
    if len(distinct) > _FREE_TEXT_MIN_DISTINCT and len(distinct) > _FREE_TEXT_SHARE * len(present):
        return None, f"free text: {len(distinct)} distinct values in {len(present)} rows"
    coded = np.array([None if value in spellings else value for value in values], dtype=object)
    return CategoricalColumn(name, coded), ""


def _as_numeric(values: list[str], present: list[str], spellings: set[str]) -> FloatArray | None:
    try:
        parsed = np.array(list(map(float, present)), dtype=np.float64)
    except ValueError:
        return None
    if not np.isfinite(parsed).all():
        return None
    if not spellings:
        return parsed
    missing = np.fromiter((value in spellings for value in values), dtype=bool, count=len(values))
    out = np.full(len(values), np.nan, dtype=np.float64)
    out[~missing] = parsed
    return out


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
