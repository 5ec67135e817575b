"""Scorecard runtime: load a model file and score applicants, one at a time or in batches.

Plain Python for a single applicant (no numpy on the request path), numpy for batches; both give
the same score, PD and grade. Reason codes name the characteristics that cost the most points
against their best bin (JR/T 0269 9.2.2 b, 9.2.2 c: a reviewer must see why).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt

from puhui.risk.scorecard.dataset import MISSING_TOKENS
from puhui.risk.scorecard.document import FeatureEntry, ModelDocument
from puhui.risk.scorecard.errors import ModelFileError, ScoringInputError

__all__ = ["BatchScores", "ReasonCode", "ScoreResult", "ScorecardModel", "reason_code_for"]

FloatArray = npt.NDArray[np.float64]
_TEXT_MEMO_LIMIT: Final = 1_024  # distinct raw category texts remembered per characteristic


def reason_code_for(feature: str) -> str:
    """The default reason code of a feature: its name in upper snake case."""
    return re.sub(r"[^0-9A-Za-z]+", "_", feature).strip("_").upper() or "FEATURE"


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """An adverse reason: which characteristic, which bin, and how many points it cost."""

    code: str
    feature: str
    bin_label: str
    points: float
    points_below_max: float


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The outcome of scoring one applicant."""

    score: float
    pd: float
    grade: str
    points_by_feature: Mapping[str, float]
    reason_codes: tuple[ReasonCode, ...]
    model_id: str
    model_version: str


@dataclass(frozen=True, slots=True)
class BatchScores:
    """Scores, PDs and grades of many applicants, in input order."""

    score: FloatArray
    pd: FloatArray
    grade_index: npt.NDArray[np.intp]
    grade_names: tuple[str, ...]

    @property
    def grades(self) -> list[str]:
        names = self.grade_names
        return [names[i] for i in self.grade_index.tolist()]


class _Characteristic:
    """One feature prepared for fast lookup."""

    def __init__(self, entry: FeatureEntry) -> None:
        self.entry = entry
        self.name = entry.name
        self.numeric = entry.kind == "numeric"
        self.cuts = list(entry.cuts)
        self.points = [b.points for b in entry.bins]
        self.woe = [b.woe for b in entry.bins]
        self.labels = [b.label for b in entry.bins]
        self.best = max(self.points)
        # Per bin, precomputed exactly as the per-applicant sums need them (same float products).
        self.logit_terms = [entry.coefficient * woe for woe in self.woe]
        self.gaps = [self.best - points for points in self.points]
        self.lookup: dict[object, int] = {None: entry.missing_bin}
        self._text_bins: dict[str, int] = {}  # raw category text → bin, filled as values are seen
        for index, entry_bin in enumerate(entry.bins):
            for category in entry_bin.categories:
                self.lookup[category] = index
        self.cuts_array = np.asarray(self.cuts, dtype=np.float64)
        self.points_array = np.asarray(self.points, dtype=np.float64)
        self.logit_array = np.asarray(self.woe, dtype=np.float64) * entry.coefficient

    def bin_of(self, value: object) -> int:
        if self.numeric:
            if type(value) is float:  # the common case, as decoded from a stored snapshot
                if value != value:  # NaN
                    return self.entry.missing_bin
                return bisect.bisect_left(self.cuts, value)
            number = _as_number(value, self.name)
            if number is None:
                return self.entry.missing_bin
            return bisect.bisect_left(self.cuts, number)
        if type(value) is str:
            index = self._text_bins.get(value)
            if index is None:
                index = self.lookup.get(_as_category(value), self.entry.unseen_bin)
                if len(self._text_bins) < _TEXT_MEMO_LIMIT:
                    self._text_bins[value] = index
            return index
        return self.lookup.get(_as_category(value), self.entry.unseen_bin)

    def bins_of(
        self, values: Sequence[object] | npt.NDArray[np.generic], n_rows: int
    ) -> npt.NDArray[np.intp]:
        if self.numeric:
            numbers = _as_numbers(values, self.name)
            found = np.searchsorted(self.cuts_array, numbers, side="left")
            return np.where(np.isnan(numbers), self.entry.missing_bin, found).astype(np.intp)
        lookup, unseen = self.lookup, self.entry.unseen_bin
        out = np.empty(n_rows, dtype=np.intp)
        for row, value in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
            index = lookup.get(value)
            out[row] = index if index is not None else lookup.get(_as_category(value), unseen)
        return out


class ScorecardModel:
    """A loaded scorecard: deterministic scoring, PD and grade for an applicant's features."""

    def __init__(self, document: ModelDocument) -> None:
        self.document = document
        self._characteristics = [_Characteristic(entry) for entry in document.features]
        self._grade_uppers = [grade.pd_upper for grade in document.master_scale.grades]

    @property
    def model_id(self) -> str:
        return self.document.model_id

    @property
    def version(self) -> str:
        return self.document.version

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.document.features)

    @classmethod
    def load(cls, path: Path | str) -> ScorecardModel:
        """Read and validate a model file."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str = "model") -> ScorecardModel:
        try:
            return cls(msgspec.json.decode(data, type=ModelDocument))
        except msgspec.DecodeError as exc:
            raise ModelFileError(f"{source} is not a valid scorecard model file: {exc}") from exc

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self.document), indent=2) + b"\n"

    def save(self, path: Path | str) -> Path:
        target = Path(path)
        target.write_bytes(self.to_json())
        return target

    def score(self, features: Mapping[str, object], *, max_reasons: int = 4) -> ScoreResult:
        """Score one applicant; absent or missing features take the feature's missing bin."""
        document = self.document
        total, logit, indices = self._tally(features)
        characteristics = self._characteristics
        points_by_feature = {
            characteristic.name: characteristic.points[index]
            for characteristic, index in zip(characteristics, indices, strict=True)
        }
        reasons = tuple(
            ReasonCode(
                code=characteristics[position].entry.reason_code,
                feature=characteristics[position].name,
                bin_label=characteristics[position].labels[index],
                points=characteristics[position].points[index],
                points_below_max=characteristics[position].gaps[index],
            )
            for position, index in self._shortfalls(indices, max_reasons)
        )
        pd = _sigmoid(logit)
        return ScoreResult(
            score=total,
            pd=pd,
            grade=self._grade_of(pd),
            points_by_feature=points_by_feature,
            reason_codes=reasons,
            model_id=document.model_id,
            model_version=document.version,
        )

    def score_summary(
        self, features: Mapping[str, object], *, max_reasons: int = 4
    ) -> tuple[float, float, str, tuple[str, ...]]:
        """Score, PD, grade and reason codes only: `score` without the per-feature detail.

        The same arithmetic in the same order as `score`, so the figures are identical; this is
        the decision's path, where the detail would be built for every applicant and dropped.
        """
        total, logit, indices = self._tally(features)
        characteristics = self._characteristics
        codes = tuple(
            characteristics[position].entry.reason_code
            for position, _ in self._shortfalls(indices, max_reasons)
        )
        pd = _sigmoid(logit)
        return total, pd, self._grade_of(pd), codes

    def _tally(self, features: Mapping[str, object]) -> tuple[float, float, list[int]]:
        """Total points, logit and each characteristic's bin, summed in characteristic order."""
        total = 0.0
        logit = self.document.intercept
        indices: list[int] = []
        for characteristic in self._characteristics:
            index = characteristic.bin_of(features.get(characteristic.name))
            total += characteristic.points[index]
            logit += characteristic.logit_terms[index]
            indices.append(index)
        return total, logit, indices

    def _shortfalls(self, indices: Sequence[int], limit: int) -> list[tuple[int, int]]:
        """(position, bin) of the characteristics furthest below their best bin, worst first."""
        gaps = [
            (-gap, position, index)
            for position, (characteristic, index) in enumerate(
                zip(self._characteristics, indices, strict=True)
            )
            if (gap := characteristic.gaps[index]) > 1e-9
        ]
        gaps.sort()
        return [(position, index) for _, position, index in gaps[:limit]]

    def _grade_of(self, pd: float) -> str:
        uppers = self._grade_uppers
        grade_index = min(bisect.bisect_left(uppers, pd), len(uppers) - 1)
        return self.document.master_scale.grades[grade_index].grade

    def score_batch(
        self, columns: Mapping[str, Sequence[object] | npt.NDArray[np.generic]]
    ) -> BatchScores:
        """Score many applicants given column-wise features; absent columns count as missing."""
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ScoringInputError("all feature columns of a batch must have the same length")
        n_rows = lengths.pop() if lengths else 0
        score = np.zeros(n_rows, dtype=np.float64)
        logit = np.full(n_rows, self.document.intercept, dtype=np.float64)
        for characteristic in self._characteristics:
            values = columns.get(characteristic.name)
            if values is None:
                index = np.full(n_rows, characteristic.entry.missing_bin, dtype=np.intp)
            else:
                index = characteristic.bins_of(values, n_rows)
            score += characteristic.points_array[index]
            logit += characteristic.logit_array[index]
        pd = 1.0 / (1.0 + np.exp(-logit))
        uppers = np.asarray(self._grade_uppers, dtype=np.float64)
        grade_index = np.minimum(np.searchsorted(uppers, pd, side="left"), uppers.shape[0] - 1)
        return BatchScores(score, pd, grade_index.astype(np.intp), self.document.master_scale.names)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _as_number(value: object, feature: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ScoringInputError(f"feature {feature!r} is numeric; got a yes/no value")
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING_TOKENS:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ScoringInputError(f"feature {feature!r} is numeric; got {value!r}") from None
        return None if math.isnan(number) else number
    raise ScoringInputError(f"feature {feature!r} is numeric; got a {type(value).__name__}")


def _as_numbers(values: Sequence[object] | npt.NDArray[np.generic], feature: str) -> FloatArray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64, copy=False)
    out = np.empty(len(values), dtype=np.float64)
    for row, value in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        number = _as_number(value, feature)
        out[row] = np.nan if number is None else number
    return out


def _as_category(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return None if text.lower() in MISSING_TOKENS else text
