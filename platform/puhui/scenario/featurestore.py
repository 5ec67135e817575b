"""The feature store: versioned features per enterprise and how stale their inputs are.

Dependent decisions call :func:`latest_features` and keep ``staleness_by_source`` beside their
inputs (JR/T 0269 6.3.2 d: a decision made on last-good data says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from connectors.canonical import EnterpriseDataset
from connectors.features import FeatureResult, compute_features
from connectors.scenario import ScenarioConnector
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.scenario.models import FeatureRow
from puhui.scenario.repository import FeatureRepository, RecordRepository
from puhui.scenario.store import record_data

__all__ = ["FeatureSet", "StoredFeature", "latest_features", "refresh_features"]


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
