"""Cleaning primitives shared by every normaliser (JR/T 0269 6.4.2 b).

Normalise formats (dates to ISO, periods to YYYY-MM), unify units (money to integer fen,
energy to kWh, water to m³) and reject rows that cannot be repaired, with a reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache

import msgspec

from connectors.uscc import is_valid_uscc

__all__ = [
    "Deduplicator",
    "RowRejected",
    "Sighting",
    "content_hash",
    "parse_amount_fen",
    "parse_date",
    "parse_electricity_kwh",
    "parse_int",
    "parse_optional_date",
    "parse_period",
    "parse_water_m3",
    "require_text",
    "require_uscc",
]

_FEN_PER_UNIT = {
    "": 100,
    "元": 100,
    "cny": 100,
    "rmb": 100,
    "万元": 1_000_000,
    "万": 1_000_000,
    "分": 1,
}
_KWH_PER_UNIT = {"kwh": Decimal(1), "度": Decimal(1), "千瓦时": Decimal(1), "mwh": Decimal(1000)}
_M3_PER_UNIT = {
    "m3": Decimal(1),
    "m³": Decimal(1),
    "立方米": Decimal(1),
    "吨": Decimal(1),  # 1 t of water is 1 m³
    "t": Decimal(1),
    "l": Decimal("0.001"),
    "升": Decimal("0.001"),
}
_QUANTITY = Decimal("0.001")
_AMOUNT = re.compile(r"^\s*[¥￥]?\s*(-?[\d,]+(?:\.\d+)?)\s*([^\d\s]*)\s*$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
)
_PERIOD_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月$"),
)


class RowRejected(Exception):
    """A row that cannot be normalised; ``reason`` is "<code>: <field>" for the quality report."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{code}: {field}")
        self.reason = f"{code}: {field}"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def require_text(row: Mapping[str, object], field: str) -> str:
    value = row.get(field)
    if _blank(value):
        raise RowRejected("missing", field)
    if not isinstance(value, str | int):
        raise RowRejected("malformed", field)
    return str(value).strip()


def require_uscc(row: Mapping[str, object], field: str = "uscc") -> str:
    code = require_text(row, field).upper()
    if not is_valid_uscc(code):
        raise RowRejected("invalid_uscc", field)
    return code


def parse_int(row: Mapping[str, object], field: str, *, minimum: int = 0) -> int:
    value = row.get(field)
    if _blank(value):
        raise RowRejected("missing", field)
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise RowRejected("malformed", field) from None
    if number != number.to_integral_value() or number < minimum:
        raise RowRejected("out_of_range", field)
    return int(number)


# Dates and periods repeat row after row in a file (a few hundred distinct values): each
# distinct spelling is parsed once per process.
@lru_cache(maxsize=8192)
def _date_of(text: str) -> date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def parse_date(row: Mapping[str, object], field: str) -> date:
    """Accept ISO, slashed, compact, dotted and 年月日 dates, or ISO datetimes; return a date."""
    value = row.get(field)
    if _blank(value):
        raise RowRejected("missing", field)
    if not isinstance(value, str):
        raise RowRejected("malformed", field)
    found = _date_of(value.strip())
    if found is None:
        raise RowRejected("invalid_date", field)
    return found


def parse_optional_date(row: Mapping[str, object], field: str) -> date | None:
    """Like :func:`parse_date`, but a blank value means "not yet" (an unpaid bill)."""
    return None if _blank(row.get(field)) else parse_date(row, field)


def parse_period(row: Mapping[str, object], field: str) -> str:
    """A month as ``YYYY-MM`` from "2024-03", "2024/3", "202403" or "2024年3月"."""
    value = row.get(field)
    if _blank(value):
        raise RowRejected("missing", field)
    found = _period_of(str(value).strip())
    if found is None:
        raise RowRejected("invalid_period", field)
    return found


@lru_cache(maxsize=8192)
def _period_of(text: str) -> str | None:
    for pattern in _PERIOD_PATTERNS:
        match = pattern.match(text)
        if match and 1 <= int(match[2]) <= 12:
            return f"{int(match[1]):04d}-{int(match[2]):02d}"
    return None


def _number_and_unit(value: object, field: str) -> tuple[Decimal, str]:
    if isinstance(value, bool):
        raise RowRejected("malformed", field)
    if isinstance(value, int | Decimal):
        return Decimal(value), ""
    if isinstance(value, float):  # only when a caller decoded without float_hook=Decimal
        return Decimal(repr(value)), ""
    if isinstance(value, str):
        match = _AMOUNT.match(value)
        if match:
            return Decimal(match[1].replace(",", "")), match[2].strip().lower()
    raise RowRejected("malformed", field)


def parse_amount_fen(
    row: Mapping[str, object],
    field: str,
    *,
    unit_field: str | None = None,
    allow_negative: bool = False,
) -> int:
    """Money in integer fen from 元/万元 numbers or strings ("1.25万元", "¥3,400.50"), half-up."""
    value = row.get(field)
    if _blank(value):
        raise RowRejected("missing", field)
    number, unit = _number_and_unit(value, field)
    if unit_field is not None and not unit:
        unit = str(row.get(unit_field) or "").strip().lower()
    factor = _FEN_PER_UNIT.get(unit)
    if factor is None:
        raise RowRejected("unknown_unit", field)
    fen = (number * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if fen < 0 and not allow_negative:
        raise RowRejected("out_of_range", field)
    return int(fen)


def _quantity(
    row: Mapping[str, object], field: str, unit_field: str, table: Mapping[str, Decimal]
) -> Decimal:
    value = row.get(field)
    if _blank(value):
        raise RowRejected("missing", field)
    number, unit = _number_and_unit(value, field)
    if not unit:
        unit = str(row.get(unit_field) or "").strip().lower()
    factor = table.get(unit)
    if factor is None:
        raise RowRejected("unknown_unit", field)
    quantity = (number * factor).quantize(_QUANTITY, rounding=ROUND_HALF_UP)
    if quantity < 0:
        raise RowRejected("out_of_range", field)
    return quantity


def parse_electricity_kwh(row: Mapping[str, object], field: str, unit_field: str) -> Decimal:
    """Electricity in kWh (3 decimals) from kWh, 度, 千瓦时 or MWh."""
    return _quantity(row, field, unit_field, _KWH_PER_UNIT)


def parse_water_m3(row: Mapping[str, object], field: str, unit_field: str) -> Decimal:
    """Water in m³ (3 decimals) from m³, 立方米, 吨 or litres."""
    return _quantity(row, field, unit_field, _M3_PER_UNIT)


def content_hash(record: msgspec.Struct) -> str:
    """sha256 of the normalised record's canonical JSON: equal content, equal hash."""
    return hashlib.sha256(msgspec.json.encode(record)).hexdigest()


class Sighting(Enum):
    """What the de-duplicator concluded about a record."""

    NEW = "new"
    DUPLICATE = "duplicate"  # same key, same content: drop
    SUPERSEDES = "supersedes"  # same key, new content: a correction, keep


class Deduplicator:
    """De-duplicates by primary key plus content hash within one sync or import (6.4.2 b)."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def observe(self, key: str, digest: str) -> Sighting:
        previous = self._seen.get(key)
        self._seen[key] = digest
        if previous is None:
            return Sighting.NEW
        return Sighting.DUPLICATE if previous == digest else Sighting.SUPERSEDES
