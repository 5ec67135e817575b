"""Scorecard development: split, bin, select, fit, scale, grade and validate.

JR/T 0269 6.5.2 b (grouping, variable construction, analysis, selection, validation, calibration)
and 9.2.2 b (a scorecard quantifying risk grade and probability of default).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from puhui.clock import utcnow
from puhui.risk import metrics as risk_metrics
from puhui.risk.scorecard.binning import BinningPolicy, FeatureBinning, bin_feature
from puhui.risk.scorecard.dataset import Dataset
from puhui.risk.scorecard.document import (
    MODEL_FORMAT,
    MODEL_FORMAT_VERSION,
    BinEntry,
    FeatureEntry,
    ModelDocument,
    TrainingData,
)
from puhui.risk.scorecard.errors import ScorecardDataError, ScorecardError
from puhui.risk.scorecard.logistic import LogisticFit, fit_logistic
from puhui.risk.scorecard.master_scale import MasterScale, default_master_scale
from puhui.risk.scorecard.model import ScorecardModel, reason_code_for
from puhui.risk.scorecard.scaling import PointsScaling

__all__ = [
    "STAGES",
    "FeatureReview",
    "SplitEvaluation",
    "TrainingConfig",
    "TrainingOutcome",
    "stratified_split",
    "train_scorecard",
]

STAGES: Final = ("split", "binning", "selection", "fitting", "scaling", "validation")
# Each class needs enough rows to be split and still measured on both sides.
MIN_ROWS_PER_CLASS: Final = 10

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """Every choice that shapes a scorecard; recorded so a model can be rebuilt."""

    test_size: float = 0.3
    seed: int = 42
    binning: BinningPolicy = field(default_factory=BinningPolicy)
    min_iv: float = 0.02
    max_correlation: float = 0.7
    l2: float = 1.0
    scaling: PointsScaling = field(default_factory=PointsScaling)
    master_scale: MasterScale = field(default_factory=default_master_scale)
    model_id: str | None = None
    version: str = "1"


@dataclass(frozen=True, slots=True)
class FeatureReview:
    """What happened to one candidate column, and why."""

    name: str
    iv: float | None
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class SplitEvaluation:
    """Scores and outcomes of one split, kept for the report's charts."""

    name: str
    bad: npt.NDArray[np.int8]
    score: FloatArray
    pd: FloatArray


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """A trained model with its validation figures and the review of every candidate column."""

    model: ScorecardModel
    metrics: dict[str, Any]
    reviews: tuple[FeatureReview, ...]
    binnings: dict[str, FeatureBinning]
    train: SplitEvaluation
    test: SplitEvaluation


def stratified_split(
    bad: npt.NDArray[np.int8], test_size: float, seed: int
) -> tuple[IntArray, IntArray]:
    """Train and test row indices, each keeping the bad rate of the whole sample."""
    if not 0.0 < test_size < 1.0:
        raise ScorecardError(f"test size must be between 0 and 1 (exclusive), got {test_size}")
    rng = np.random.default_rng(seed)
    train_parts: list[IntArray] = []
    test_parts: list[IntArray] = []
    for outcome in (0, 1):
        rows = rng.permutation(np.flatnonzero(bad == outcome))
        n_test = min(max(round(test_size * rows.shape[0]), 1), rows.shape[0] - 1)
        test_parts.append(rows[:n_test])
        train_parts.append(rows[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


def train_scorecard(
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> TrainingOutcome:
    """Develop a scorecard on `dataset`; `on_stage` is told as each stage of STAGES begins."""
    config = config or TrainingConfig()
    announce = on_stage or (lambda _stage: None)

    announce("split")
    n_bad = dataset.n_bad
    n_good = dataset.n_rows - n_bad
    if min(n_bad, n_good) < MIN_ROWS_PER_CLASS:
        raise ScorecardDataError(
            f"too few outcomes to develop and validate a model: {n_bad} bad and {n_good} good "
            f"rows; each class needs at least {MIN_ROWS_PER_CLASS}"
        )
    if not dataset.columns:
        raise ScorecardDataError("no usable feature columns: " + _excluded_text(dataset))
    train_rows, test_rows = stratified_split(dataset.bad, config.test_size, config.seed)
    train, test = dataset.take(train_rows), dataset.take(test_rows)

    announce("binning")
    binnings = {
        name: bin_feature(column, train.bad, config.binning)
        for name, column in train.columns.items()
    }

    announce("selection")
    reviews: dict[str, FeatureReview] = {
        item.name: FeatureReview(item.name, None, "excluded", item.reason)
        for item in dataset.excluded
    }
    selected = _select(train, binnings, config, reviews)

    announce("fitting")
    selected, fit = _fit_with_sign_check(train, binnings, selected, config, reviews)
    for name in selected:
        reviews[name] = FeatureReview(name, binnings[name].iv, "kept", "")

    announce("scaling")
    document = _document(dataset, binnings, selected, fit, config)
    model = ScorecardModel(document)

    announce("validation")
    train_eval = _evaluate("train", model, train)
    test_eval = _evaluate("test", model, test)
    ordered = tuple(reviews[name] for name in _column_order(dataset) if name in reviews)
    figures = _metrics(dataset, model, binnings, ordered, train_eval, test_eval, config)
    final = ScorecardModel(_with_metrics(document, figures))
    return TrainingOutcome(final, figures, ordered, binnings, train_eval, test_eval)


def _column_order(dataset: Dataset) -> list[str]:
    return sorted([*dataset.columns, *(item.name for item in dataset.excluded)])


def _excluded_text(dataset: Dataset) -> str:
    return "; ".join(f"{item.name} ({item.reason})" for item in dataset.excluded) or "none"


def _select(
    train: Dataset,
    binnings: dict[str, FeatureBinning],
    config: TrainingConfig,
    reviews: dict[str, FeatureReview],
) -> list[str]:
    candidates: list[str] = []
    for name, binning in binnings.items():
        if len(binning.bins) < 2:
            reviews[name] = FeatureReview(name, binning.iv, "dropped", "a single bin: no variation")
        elif binning.iv < config.min_iv:
            reviews[name] = FeatureReview(
                name, binning.iv, "dropped", f"IV {binning.iv:.4f} below {config.min_iv:g}"
            )
        else:
            candidates.append(name)
    if not candidates:
        raise ScorecardDataError(
            f"no feature reaches the IV threshold {config.min_iv:g}; the data shows no usable "
            "signal for this target"
        )
    candidates.sort(key=lambda name: (-binnings[name].iv, name))
    woe = np.column_stack([binnings[name].woe(train.columns[name]) for name in candidates])
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(np.corrcoef(woe, rowvar=False).reshape(len(candidates), -1))
    kept: list[int] = []
    for position, name in enumerate(candidates):
        partner = next(
            (k for k in kept if abs(correlation[position, k]) > config.max_correlation), None
        )
        if partner is None:
            kept.append(position)
        else:
            reviews[name] = FeatureReview(
                name,
                binnings[name].iv,
                "dropped",
                f"WOE correlation {correlation[position, partner]:+.2f} with "
                f"{candidates[partner]}, which has the higher IV",
            )
    return [candidates[k] for k in kept]


def _fit_with_sign_check(
    train: Dataset,
    binnings: dict[str, FeatureBinning],
    selected: list[str],
    config: TrainingConfig,
    reviews: dict[str, FeatureReview],
) -> tuple[list[str], LogisticFit]:
    """Fit; drop a feature whose coefficient contradicts its WOE (weakest first) and refit."""
    selected = list(selected)
    while selected:
        woe = np.column_stack([binnings[name].woe(train.columns[name]) for name in selected])
        fit = fit_logistic(woe, train.bad, l2=config.l2)
        # WOE = ln(good/bad), so a sound coefficient on P(bad) is negative.
        wrong = [name for name, beta in zip(selected, fit.coefficients, strict=True) if beta >= 0]
        if not wrong:
            return selected, fit
        weakest = min(wrong, key=lambda name: (binnings[name].iv, name))
        reviews[weakest] = FeatureReview(
            weakest,
            binnings[weakest].iv,
            "dropped",
            "its coefficient contradicts its WOE once the other features are in the model",
        )
        selected.remove(weakest)
    raise ScorecardDataError("no feature keeps a sound coefficient; the model cannot be built")


def _document(
    dataset: Dataset,
    binnings: dict[str, FeatureBinning],
    selected: list[str],
    fit: LogisticFit,
    config: TrainingConfig,
) -> ModelDocument:
    scaling = config.scaling
    features: list[FeatureEntry] = []
    for name, coefficient in zip(selected, fit.coefficients.tolist(), strict=True):
        binning = binnings[name]
        bins = tuple(
            BinEntry(
                label=entry.label,
                count=entry.count,
                bads=entry.bads,
                woe=entry.woe,
                points=scaling.points(coefficient, entry.woe, fit.intercept, len(selected)),
                lower=entry.lower,
                upper=entry.upper,
                categories=entry.categories,
                is_missing=entry.is_missing,
                is_other=entry.is_other,
            )
            for entry in binning.bins
        )
        features.append(
            FeatureEntry(
                name=name,
                kind=binning.kind,
                iv=binning.iv,
                coefficient=coefficient,
                reason_code=reason_code_for(name),
                bins=bins,
                cuts=binning.cuts,
                missing_bin=binning.missing_bin,
                unseen_bin=binning.unseen_bin,
            )
        )
    model_id = config.model_id or _model_id(dataset, config)
    return ModelDocument(
        format=MODEL_FORMAT,
        format_version=MODEL_FORMAT_VERSION,
        model_id=model_id,
        version=config.version,
        created_at=utcnow(),
        training_data=TrainingData(
            source=dataset.source,
            sha256=dataset.sha256,
            rows=dataset.n_rows,
            bads=dataset.n_bad,
            target=dataset.target,
            bad_value=dataset.target_rule.describe(),
        ),
        intercept=fit.intercept,
        scaling=scaling,
        master_scale=config.master_scale,
        features=tuple(features),
    )


def _model_id(dataset: Dataset, config: TrainingConfig) -> str:
    """Same data and same configuration give the same id, so a rebuild is recognisable."""
    recipe = f"{dataset.sha256}|{dataset.target}|{dataset.target_rule.describe()}|{config!r}"
    return "scorecard-" + hashlib.sha256(recipe.encode()).hexdigest()[:16]


def _with_metrics(document: ModelDocument, figures: dict[str, Any]) -> ModelDocument:
    return msgspec.structs.replace(document, metrics=figures)


def _evaluate(name: str, model: ScorecardModel, split: Dataset) -> SplitEvaluation:
    columns = {feature: split.columns[feature].values for feature in model.feature_names}
    scores = model.score_batch(columns)
    return SplitEvaluation(name, split.bad, scores.score, scores.pd)


def _split_metrics(evaluation: SplitEvaluation) -> dict[str, float | int]:
    labels, pd = evaluation.bad, evaluation.pd
    area = risk_metrics.auc(labels, pd)
    return {
        "rows": int(labels.shape[0]),
        "bads": int(labels.sum()),
        "bad_rate": float(labels.mean()),
        "auc": area,
        "gini": 2.0 * area - 1.0,
        "ks": risk_metrics.ks(labels, pd),
        "mean_pd": float(pd.mean()),
    }


def _grade_table(model: ScorecardModel, evaluation: SplitEvaluation) -> list[dict[str, Any]]:
    scale = model.document.master_scale
    index = scale.indices_of(evaluation.pd)
    rows: list[dict[str, Any]] = []
    for position, grade in enumerate(scale.grades):
        members = index == position
        count = int(members.sum())
        bads = int(evaluation.bad[members].sum())
        rows.append(
            {
                "grade": grade.grade,
                "pd_upper": grade.pd_upper,
                "rows": count,
                "bads": bads,
                "bad_rate": bads / count if count else None,
                "mean_pd": float(evaluation.pd[members].mean()) if count else None,
            }
        )
    return rows


def _metrics(
    dataset: Dataset,
    model: ScorecardModel,
    binnings: dict[str, FeatureBinning],
    reviews: tuple[FeatureReview, ...],
    train: SplitEvaluation,
    test: SplitEvaluation,
    config: TrainingConfig,
) -> dict[str, Any]:
    score_psi = risk_metrics.psi(train.score, test.score, bins=10)
    return {
        "model_id": model.model_id,
        "version": model.version,
        "rows": {
            "total": dataset.n_rows,
            "train": int(train.bad.shape[0]),
            "test": int(test.bad.shape[0]),
            "without_target": dataset.rows_without_target,
        },
        "train": _split_metrics(train),
        "test": _split_metrics(test),
        "psi_score_train_vs_test": score_psi,
        "psi_status": risk_metrics.psi_status(score_psi),
        "features": [
            {
                "name": entry.name,
                "iv": entry.iv,
                "coefficient": entry.coefficient,
                "bins": len(entry.bins),
            }
            for entry in model.document.features
        ],
        "candidates": [
            {"name": review.name, "iv": review.iv, "status": review.status, "reason": review.reason}
            for review in reviews
        ],
        "iv": {name: binning.iv for name, binning in sorted(binnings.items())},
        "grades": {"train": _grade_table(model, train), "test": _grade_table(model, test)},
        "config": {
            "test_size": config.test_size,
            "seed": config.seed,
            "min_iv": config.min_iv,
            "max_correlation": config.max_correlation,
            "l2": config.l2,
            "pre_bins": config.binning.pre_bins,
            "min_bin_share": config.binning.min_bin_share,
            "max_bins": config.binning.max_bins,
            "smoothing": config.binning.smoothing,
        },
    }
