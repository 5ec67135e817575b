"""The feature store: versioned features per enterprise and how stale their inputs are.

Dependent decisions call :func:`latest_features` and keep ``staleness_by_source`` beside their
inputs (JR/T 0269 6.3.2 d: a decision made on last-good data says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, cast

import msgspec
from connectors.canonical import EnterpriseDataset
from connectors.features import FeatureResult, compute_features
from connectors.scenario import ScenarioConnector
from sqlalchemy import Table, bindparam, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import NullType

from puhui.clock import utcnow
from puhui.scenario.models import FeatureRow
from puhui.scenario.repository import FeatureRepository, RecordRepository
from puhui.scenario.store import record_data

__all__ = [
    "FeatureSet",
    "FeatureValues",
    "StoredFeature",
    "latest_features",
    "latest_features_many",
    "latest_values_many",
    "refresh_features",
]


class StoredFeature(msgspec.Struct, frozen=True, kw_only=True):
    """One feature value as the store holds it, with the age of the data behind it."""

    name: str
    version: int
    data_source: str
    value: int | Decimal | str | None
    as_of: date
    computed_at: datetime
    data_as_of: datetime
    reason: str | None
    source_records: tuple[str, ...]


class FeatureSet(msgspec.Struct, frozen=True, kw_only=True):
    """An enterprise's current features and, per source, how old the underlying data is."""

    uscc: str
    values: Mapping[str, StoredFeature]
    staleness_by_source: Mapping[str, timedelta]


class FeatureValues(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision reads of a :class:`FeatureSet`: each feature's value and, per source,
    how old the data behind it is (the same figures, without the per-feature provenance)."""

    uscc: str
    values: dict[str, int | Decimal | str | None]
    staleness_by_source: dict[str, timedelta]


def _encode(value: FeatureResult) -> tuple[str, str | None]:
    if value is None:
        return "none", None
    if isinstance(value, bool):  # a bool is an int to Python, never a feature value here
        raise TypeError("features are int, Decimal, str or None")
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, Decimal):
        return "decimal", str(value)
    return "code", value


def _decode(kind: str, text: str | None) -> int | Decimal | str | None:
    if kind == "none" or text is None:
        return None
    if kind == "int":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    return text


def _stored(row: FeatureRow) -> StoredFeature:
    return StoredFeature(
        name=row.name,
        version=row.version,
        data_source=row.data_source,
        value=_decode(row.value_kind, row.value_text),
        as_of=row.as_of,
        computed_at=row.computed_at,
        data_as_of=row.data_as_of,
        reason=row.reason,
        source_records=tuple(row.source_records),
    )


async def refresh_features(
    session: AsyncSession,
    connector: ScenarioConnector[Any],
    uscc: str,
    *,
    as_of: date,
    fresh_at: Mapping[str, datetime],
) -> tuple[StoredFeature, ...]:
    """Recompute the connector's features for ``uscc`` from the stored records.

    ``fresh_at`` maps a data type to when its data was last fetched live (or snapshotted);
    data types missing from it keep the age their features already had.
    """
    source = connector.spec().name
    features = FeatureRepository(session)
    previous = {(r.name, r.version): r for r in await features.of_enterprise(uscc)}
    rows = await RecordRepository(session).of_enterprise(uscc, source)
    by_type: dict[str, list[msgspec.Struct]] = {}
    keys_by_type: dict[str, list[str]] = {}
    for row in rows:
        stream = row.data_type.split(".", 1)[1]
        spec = connector.binding(stream).spec
        by_type.setdefault(row.data_type, []).append(record_data(row, spec))
        keys_by_type.setdefault(row.data_type, []).append(row.natural_key)
    dataset = EnterpriseDataset(uscc, {t: tuple(v) for t, v in by_type.items()})
    now = utcnow()
    stored: list[FeatureRow] = []
    for feature, value in zip(
        connector.features(),
        compute_features(connector.features(), dataset, as_of, now),
        strict=True,
    ):
        streams = feature.spec.source_streams
        known = previous.get((value.name, value.version))
        ages = [
            fresh_at.get(s) or (known.data_as_of if known is not None else now) for s in streams
        ]
        kind, text = _encode(value.value)
        stored.append(
            FeatureRow(
                uscc=uscc,
                data_source=source,
                name=value.name,
                version=value.version,
                value_kind=kind,
                value_text=text,
                as_of=as_of,
                computed_at=now,
                reason=value.reason,
                data_as_of=min(ages, default=now),
                source_records=sorted(k for s in streams for k in keys_by_type.get(s, [])),
            )
        )
    await features.replace_source(uscc, source, stored)
    return tuple(_stored(r) for r in stored)


async def latest_features(session: AsyncSession, uscc: str) -> FeatureSet:
    """The enterprise's current features (the store is the bank's: readable from any tenant)."""
    rows = await FeatureRepository(session).of_enterprise(uscc)
    now = utcnow()
    oldest: dict[str, datetime] = {}
    for row in rows:
        seen = oldest.get(row.data_source)
        oldest[row.data_source] = row.data_as_of if seen is None else min(seen, row.data_as_of)
    return FeatureSet(
        uscc=uscc,
        values={r.name: _stored(r) for r in rows},
        staleness_by_source={s: max(timedelta(0), now - t) for s, t in sorted(oldest.items())},
    )


_FEATURES: Final = cast(Table, FeatureRow.__table__)
# Enterprises per statement: the IN list's bound parameters stay far below every SQLite build's
# limit (999 on old ones), and a batch job's few hundred loans are one statement.
_IN_CHUNK: Final = 500
# Rows ordered as the single read orders them (by name), enterprise by enterprise; version last
# so the rare name stored in two versions resolves the same way every time (the newest).
_ALL_COLUMNS: Final = (
    select(
        _FEATURES.c.uscc, _FEATURES.c.name, _FEATURES.c.version, _FEATURES.c.data_source,
        _FEATURES.c.value_kind, _FEATURES.c.value_text, _FEATURES.c.as_of,
        _FEATURES.c.computed_at, _FEATURES.c.data_as_of, _FEATURES.c.reason,
        _FEATURES.c.source_records,
    )
    .where(_FEATURES.c.uscc.in_(bindparam("usccs", expanding=True)))
    .order_by(_FEATURES.c.uscc, _FEATURES.c.name, _FEATURES.c.version)
)  # fmt: skip
# ``data_as_of`` comes back as the driver gives it (a datetime on PostgreSQL, fixed-width ISO
# text on SQLite, ordered alike): only each source's oldest is converted, not every row's.
_VALUE_COLUMNS: Final = (
    select(
        _FEATURES.c.uscc, _FEATURES.c.name, _FEATURES.c.data_source, _FEATURES.c.value_kind,
        _FEATURES.c.value_text, type_coerce(_FEATURES.c.data_as_of, NullType()),
    )
    .where(_FEATURES.c.uscc.in_(bindparam("usccs", expanding=True)))
    .order_by(_FEATURES.c.uscc, _FEATURES.c.name, _FEATURES.c.version)
)  # fmt: skip


# The same statement for asyncpg, sent on the session's own connection (so in its transaction):
# asyncpg's records index as tuples do, without SQLAlchemy wrapping each of the ~17 rows a loan
# reads (about a tenth of a renewal's CPU on PostgreSQL). Columns and order as _VALUE_COLUMNS.
_PG_VALUE_SQL: Final = (
    "SELECT uscc, name, data_source, value_kind, value_text, data_as_of FROM scenario_features "
    "WHERE uscc = ANY($1::varchar[]) ORDER BY uscc, name, version"
)


async def _value_rows(connection: AsyncConnection, usccs: list[str]) -> Sequence[Sequence[Any]]:
    if connection.dialect.driver == "asyncpg":
        raw = await connection.get_raw_connection()
        driver = cast(Any, raw.driver_connection)
        return cast(Sequence[Sequence[Any]], await driver.fetch(_PG_VALUE_SQL, usccs))
    return (await connection.execute(_VALUE_COLUMNS, {"usccs": usccs})).all()


def _chunks(usccs: Iterable[str]) -> list[list[str]]:
    distinct = list(dict.fromkeys(usccs))
    return [distinct[i : i + _IN_CHUNK] for i in range(0, len(distinct), _IN_CHUNK)]


def _staleness(oldest: Mapping[str, datetime], now: datetime) -> dict[str, timedelta]:
    return {s: max(timedelta(0), now - t) for s, t in sorted(oldest.items())}


async def latest_features_many(
    session: AsyncSession, usccs: Iterable[str]
) -> dict[str, FeatureSet]:
    """:func:`latest_features` for many enterprises in one statement per 500 of them.

    Every requested USCC gets a set (an empty one when the store holds nothing for it), read
    as the single read reads it: by enterprise only, from any tenant, staleness at one instant.
    """
    found: dict[str, list[StoredFeature]] = {}
    oldest: dict[str, dict[str, datetime]] = {}
    wanted = _chunks(usccs)
    for chunk in wanted:
        for found_row in await session.execute(_ALL_COLUMNS, {"usccs": chunk}):
            (uscc, name, version, source, kind, text, as_of, computed_at, data_as_of, reason,
             records) = found_row  # fmt: skip
            found.setdefault(uscc, []).append(
                StoredFeature(
                    name=name, version=version, data_source=source, value=_decode(kind, text),
                    as_of=as_of, computed_at=computed_at, data_as_of=data_as_of, reason=reason,
                    source_records=tuple(records),
                )
            )  # fmt: skip
            ages = oldest.setdefault(uscc, {})
            seen = ages.get(source)
            if seen is None or data_as_of < seen:
                ages[source] = data_as_of
    now = utcnow()
    return {
        uscc: FeatureSet(
            uscc=uscc,
            values={f.name: f for f in found.get(uscc, ())},
            staleness_by_source=_staleness(oldest.get(uscc, {}), now),
        )
        for chunk in wanted
        for uscc in chunk
    }


async def latest_values_many(
    session: AsyncSession, usccs: Iterable[str]
) -> dict[str, FeatureValues]:
    """The values and staleness of :func:`latest_features_many`, without the provenance.

    What a batch of decisions needs (``puhui.lending.service.scenario_features_many``): the
    same rows and figures, but only the columns a decision reads, and no object per feature.
    """
    values: dict[str, dict[str, int | Decimal | str | None]] = {}
    oldest: dict[str, dict[str, Any]] = {}  # per source, the driver's value of the oldest
    wanted = _chunks(usccs)
    mine: dict[str, int | Decimal | str | None] = {}
    ages: dict[str, Any] = {}
    connection = await session.connection()
    for chunk in wanted:
        current = None
        rows = await _value_rows(connection, chunk)
        for uscc, name, source, kind, text, data_as_of in rows:
            if uscc != current:  # rows come enterprise by enterprise
                current = uscc
                mine = values[uscc] = {}
                ages = oldest[uscc] = {}
            # _decode, inline: this loop runs once per feature of every loan in a batch job
            if text is None or kind == "none":
                mine[name] = None
            elif kind == "int":
                mine[name] = int(text)
            elif kind == "decimal":
                mine[name] = Decimal(text)
            else:
                mine[name] = text
            seen = ages.get(source)
            if seen is None or data_as_of < seen:
                ages[source] = data_as_of
    dialect = connection.dialect
    column_type = _FEATURES.c.data_as_of.type.dialect_impl(dialect)
    to_datetime = column_type.result_processor(dialect, None)
    now = utcnow()
    return {
        uscc: FeatureValues(
            uscc=uscc,
            values=values.get(uscc, {}),
            staleness_by_source=_staleness(
                {
                    source: cast(datetime, raw if to_datetime is None else to_datetime(raw))
                    for source, raw in oldest.get(uscc, {}).items()
                },
                now,
            ),
        )
        for chunk in wanted
        for uscc in chunk
    }
