"""The connector kit: a stream-binding connector states only what differs from the others.

A built-in (or a bank product team's new connector) declares

* its **normalisers** as field mappings — which upstream field feeds which record field through
  which cleaning primitive — with :func:`mapped` and the field readers below (``text``,
  ``uscc``, ``period``, ``fen``, ``day``, …); the raw fields a quality report counts nulls of
  follow from the mapping, and a row that cannot be repaired is rejected with a reason;
* its **streams** with :func:`stream`: name, title, record type, key, cursor, consent data
  items and field classes (JR/T 0171) — the upstream path, schema version and the usual
  data-element attributes (dynamic time series, external, authorised) are defaulted;
* its **credential** with :func:`api_key_auth` or :func:`bearer_auth`.

:class:`connectors.scenario.ScenarioConnector` then supplies ``spec``/``check``/``discover``/
``read``, the pull loop, consent gate, checkpoints, retries, breaker and last-good fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import msgspec

from connectors.catalog import Access, FieldClass, Origin, Shape, StreamSpec, Volatility
from connectors.catalog import classified as _classified
from connectors.cleaning import (
    RowRejected,
    parse_amount_fen,
    parse_date,
    parse_electricity_kwh,
    parse_int,
    parse_optional_date,
    parse_period,
    parse_water_m3,
    require_text,
    require_uscc,
)
from connectors.pipeline import StreamBinding
from connectors.scenario import PullApiConfig
from connectors.spec import Secret

__all__ = [
    "ENTERPRISE_PATH",
    "ApiKeyConfig",
    "BearerConfig",
    "Read",
    "RowMapping",
    "api_key_auth",
    "bearer_auth",
    "day",
    "fen",
    "integer",
    "kwh",
    "m3",
    "mapped",
    "one_of",
    "optional_day",
    "optional_text",
    "period",
    "stream",
    "text",
    "uscc",
]

R = TypeVar("R", bound=msgspec.Struct)
ENTERPRISE_PATH = "/v1/enterprises/{uscc}/"
Row = Mapping[str, object]
AuthHeaders = Callable[[Any], Mapping[str, str]]


class Read(msgspec.Struct, frozen=True):
    """How one record field is read from an upstream row: a function of the row and the raw
    fields it looks at (the first is the field's own; more for a separate unit column)."""

    fn: Callable[[Row], Any]
    fields: tuple[str, ...]


def text(field: str) -> Read:
    return Read(lambda row: require_text(row, field), (field,))


def optional_text(field: str) -> Read:
    """Text, or None when the upstream left it blank."""

    def read(row: Row) -> str | None:
        value = row.get(field)
        return value.strip() if isinstance(value, str) and value.strip() else None

    return Read(read, (field,))


def uscc(field: str) -> Read:
    return Read(lambda row: require_uscc(row, field), (field,))


def period(field: str) -> Read:
    return Read(lambda row: parse_period(row, field), (field,))


def day(field: str) -> Read:
    return Read(lambda row: parse_date(row, field), (field,))


def optional_day(field: str) -> Read:
    return Read(lambda row: parse_optional_date(row, field), (field,))


def integer(field: str, *, minimum: int = 0, maximum: int | None = None) -> Read:
    def read(row: Row) -> int:
        value = parse_int(row, field, minimum=minimum)
        if maximum is not None and value > maximum:
            raise RowRejected("out_of_range", field)
        return value

    return Read(read, (field,))


def one_of(field: str, choices: Mapping[str, str], reason: str) -> Read:
    """A code from a closed list; ``choices`` maps every spelling (any case) to the code."""
    folded = {k.casefold(): v for k, v in choices.items()}

    def read(row: Row) -> str:
        found = folded.get(require_text(row, field).casefold())
        if found is None:
            raise RowRejected(reason, field)
        return found

    return Read(read, (field,))


def fen(field: str, *, allow_negative: bool = False) -> Read:
    """Money in integer fen from 元/万元 numbers or strings."""
    return Read(lambda row: parse_amount_fen(row, field, allow_negative=allow_negative), (field,))


def kwh(field: str, unit_field: str) -> Read:
    return Read(lambda row: parse_electricity_kwh(row, field, unit_field), (field, unit_field))


def m3(field: str, unit_field: str) -> Read:
    return Read(lambda row: parse_water_m3(row, field, unit_field), (field, unit_field))


class RowMapping(Generic[R]):
    """A normaliser stated as a mapping: record field → how it is read from the upstream row."""

    def __init__(self, record_type: type[R], reads: Mapping[str, Read]) -> None:
        self.record_type = record_type
        self._reads = tuple((name, read.fn) for name, read in reads.items())
        self.raw_fields = tuple(dict.fromkeys(f for read in reads.values() for f in read.fields))
        missing = set(record_type.__struct_fields__) - set(reads)
        unknown = set(reads) - set(record_type.__struct_fields__)
        if missing or unknown:
            raise TypeError(
                f"{record_type.__name__} mapping: missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )

    def __call__(self, row: Row) -> R:
        """The record, or :class:`connectors.cleaning.RowRejected` from the first bad field."""
        return self.record_type(**{name: read(row) for name, read in self._reads})


def mapped(record_type: type[R], **reads: Read) -> RowMapping[R]:
    """``mapped(PayrollMonth, payroll_id=text("batch_no"), uscc=uscc("employer_uscc"), …)``."""
    return RowMapping(record_type, reads)


def stream(
    name: str,
    title: str,
    *,
    normaliser: RowMapping[Any] | Callable[[Row], msgspec.Struct],
    record_type: type[msgspec.Struct] | None = None,
    key: str | tuple[str, ...],
    cursor: str | None,
    classes: Mapping[str, FieldClass],
    items: Iterable[str] | None = None,
    upstream: str | None = None,
    raw_fields: tuple[str, ...] | None = None,
    schema_version: int = 1,
    volatility: Volatility = Volatility.DYNAMIC,
    shape: Shape = Shape.TIME_SERIES,
    origin: Origin = Origin.EXTERNAL,
    access: Access = Access.AUTHORISED,
) -> StreamBinding:
    """One stream of a pull-API connector at ``/v1/enterprises/{uscc}/<upstream>``.

    ``items`` (the consent data items it needs) defaults to the stream name; ``upstream`` to
    the name with dashes; ``record_type`` and ``raw_fields`` to the mapping's.
    """
    if isinstance(normaliser, RowMapping):
        record_type = record_type or normaliser.record_type
        raw_fields = raw_fields if raw_fields is not None else normaliser.raw_fields
    if record_type is None or raw_fields is None:
        raise TypeError(f"stream {name}: a function normaliser needs record_type and raw_fields")
    return StreamBinding(
        spec=StreamSpec(
            name=name,
            title=title,
            record_type=record_type,
            schema_version=schema_version,
            primary_key=(key,) if isinstance(key, str) else key,
            cursor_field=cursor,
            data_items=frozenset(items if items is not None else (name,)),
            fields=_classified(**classes),
            volatility=volatility,
            shape=shape,
            origin=origin,
            access=access,
        ),
        path=ENTERPRISE_PATH + (upstream or name.replace("_", "-")),
        raw_fields=raw_fields,
        normaliser=normaliser,
    )


class ApiKeyConfig(PullApiConfig, frozen=True, kw_only=True):
    """An upstream that issued the bank an API key (sent as ``x-api-key``; stored sealed)."""

    api_key: Secret


class BearerConfig(PullApiConfig, frozen=True, kw_only=True):
    """An upstream that issued the bank a bearer token (stored sealed)."""

    access_token: Secret


def api_key_auth(field: str = "api_key", header: str = "x-api-key") -> AuthHeaders:
    """Auth headers for an upstream that takes an API key in a header."""
    return lambda config: {header: str(getattr(config, field))}


def bearer_auth(field: str = "access_token") -> AuthHeaders:
    """Auth headers for an upstream that takes an OAuth-style bearer token."""
    return lambda config: {"authorization": f"Bearer {getattr(config, field)}"}
