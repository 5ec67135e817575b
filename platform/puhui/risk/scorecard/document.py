"""The scorecard model file: a versioned JSON document, the only thing the runtime needs.

Scorecards are versioned data, not code (ARCHITECTURE decision 7): a decision records the model
id and version, and the file it names reproduces every score.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

import msgspec

from puhui.risk.scorecard.master_scale import MasterScale
from puhui.risk.scorecard.scaling import PointsScaling

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "BinEntry",
    "FeatureEntry",
    "ModelDocument",
    "TrainingData",
]

MODEL_FORMAT: Final = "puhui.scorecard"
MODEL_FORMAT_VERSION: Final = 1


class BinEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One row of the scorecard table: a bin, its development counts, WOE and points.

    Numeric bins cover (lower, upper] with null meaning unbounded.
    """

    label: str
    count: int
    bads: int
    woe: float
    points: float
    lower: float | None = None
    upper: float | None = None
    categories: tuple[str, ...] = ()
    is_missing: bool = False
    is_other: bool = False


class FeatureEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A scorecard characteristic: its bins, coefficient and the reason code it reports."""

    name: str
    kind: Literal["numeric", "categorical"]
    iv: float
    coefficient: float
    reason_code: str
    bins: tuple[BinEntry, ...]
    cuts: tuple[float, ...]
    missing_bin: int
    unseen_bin: int

    def __post_init__(self) -> None:
        size = len(self.bins)
        if size == 0:
            raise ValueError(f"feature {self.name} has no bins")
        if not (0 <= self.missing_bin < size and 0 <= self.unseen_bin < size):
            raise ValueError(f"feature {self.name} points at a bin it does not have")
        if self.kind == "numeric":
            value_bins = sum(not entry.is_missing for entry in self.bins)
            if len(self.cuts) != value_bins - 1 or list(self.cuts) != sorted(set(self.cuts)):
                raise ValueError(f"feature {self.name} has inconsistent cut points")


class TrainingData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Provenance of the development sample."""

    source: str
    sha256: str
    rows: int
    bads: int
    target: str
    bad_value: str


class ModelDocument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything a scorecard is, as stored in its JSON file."""

    format: Literal["puhui.scorecard"]
    format_version: int
    model_id: str
    version: str
    created_at: datetime
    training_data: TrainingData
    intercept: float
    scaling: PointsScaling
    master_scale: MasterScale
    features: tuple[FeatureEntry, ...]
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format_version != MODEL_FORMAT_VERSION:
            raise ValueError(
                f"unsupported model format version {self.format_version} "
                f"(this platform reads version {MODEL_FORMAT_VERSION})"
            )
        if not self.features:
            raise ValueError("a scorecard needs at least one feature")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must carry a timezone")
