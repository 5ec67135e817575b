"""Versioned, documented features derived from the canonical model (JR/T 0269 6.5.2 a)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal

import msgspec

from connectors.canonical import EnterpriseDataset

__all__ = ["Feature", "FeatureSpec", "FeatureValue", "compute_features"]

FeatureResult = int | Decimal | str | None


class FeatureSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Identity and meaning of a feature; a change of formula bumps the version."""

    name: str  # "<source>.<feature>"
    version: int
    description: str
    unit: str
    source_streams: tuple[str, ...]  # data types "<source>.<stream>"


class FeatureValue(msgspec.Struct, frozen=True, kw_only=True):
    """A computed feature for one enterprise; ``value`` is None when the history is too thin."""

    name: str
    version: int
    uscc: str
    as_of: date
    value: FeatureResult
    computed_at: datetime
    reason: str | None = None


class Feature(msgspec.Struct, frozen=True):
    """A feature spec and its pure formula over an enterprise's canonical data."""

    spec: FeatureSpec
    formula: Callable[[EnterpriseDataset, date], FeatureResult]


def compute_features(
    features: Iterable[Feature], dataset: EnterpriseDataset, as_of: date, computed_at: datetime
) -> tuple[FeatureValue, ...]:
    """Evaluate every feature; an absent value states why (insufficient history)."""
    values = []
    for feature in features:
        value = feature.formula(dataset, as_of)
        values.append(
            FeatureValue(
                name=feature.spec.name,
                version=feature.spec.version,
                uscc=dataset.uscc,
                as_of=as_of,
                value=value,
                computed_at=computed_at,
                reason="insufficient_history" if value is None else None,
            )
        )
    return tuple(values)
