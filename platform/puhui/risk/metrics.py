"""Discrimination and stability metrics for credit models: AUC, KS, Gini and PSI.

Conventions: `labels` are 1 for bad (the event) and 0 for good; `scores` rank risk, higher meaning
more likely bad (pass a PD, or the negated scorecard score). Used by scorecard validation and by
model monitoring (JR/T 0269 6.5.2 d: periodic back-testing and re-validation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "PSI_ALERT_THRESHOLD",
    "PSI_WATCH_THRESHOLD",
    "KsCurve",
    "RocCurve",
    "auc",
    "gini",
    "ks",
    "ks_curve",
    "psi",
    "psi_from_counts",
    "psi_status",
    "roc_curve",
]

# Industry rule of thumb: PSI < 0.10 stable, 0.10–0.25 watch, ≥ 0.25 the population has shifted.
PSI_WATCH_THRESHOLD: Final = 0.10
PSI_ALERT_THRESHOLD: Final = 0.25
# Floor for an empty PSI bucket so ln(a/e) stays finite.
_PSI_FLOOR: Final = 1e-4

ArrayLike = Sequence[float] | npt.NDArray[np.floating] | npt.NDArray[np.integer]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RocCurve:
    """False and true positive rates at every distinct score threshold, from (0,0) to (1,1)."""

    false_positive_rate: FloatArray
    true_positive_rate: FloatArray


@dataclass(frozen=True, slots=True)
class KsCurve:
    """Cumulative shares of bads and goods at or above each threshold, highest risk first."""

    thresholds: FloatArray
    cumulative_bad: FloatArray
    cumulative_good: FloatArray


def _prepare(labels: ArrayLike, scores: ArrayLike) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("labels and scores must be one-dimensional and of equal length")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 (good) or 1 (bad)")
    if np.isnan(s).any():
        raise ValueError("scores must not contain NaN")
    n_bad = y.sum()
    if n_bad == 0 or n_bad == y.shape[0]:
        raise ValueError("labels need both goods and bads")
    return y, s


def roc_curve(labels: ArrayLike, scores: ArrayLike) -> RocCurve:
    """The ROC curve; tied scores form one step (no optimistic ordering of ties)."""
    y, s = _prepare(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    y_sorted, s_sorted = y[order], s[order]
    # Keep the last index of every run of equal scores.
    distinct = np.r_[np.flatnonzero(np.diff(s_sorted)), y_sorted.shape[0] - 1]
    true_pos = np.cumsum(y_sorted)[distinct]
    false_pos = (distinct + 1) - true_pos
    tpr = np.r_[0.0, true_pos / y.sum()]
    fpr = np.r_[0.0, false_pos / (y.shape[0] - y.sum())]
    return RocCurve(fpr, tpr)


def auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: P(score of a random bad > a random good), ties counting half."""
    curve = roc_curve(labels, scores)
    return float(np.trapezoid(curve.true_positive_rate, curve.false_positive_rate))


def gini(labels: ArrayLike, scores: ArrayLike) -> float:
    """Gini (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(labels, scores) - 1.0


def ks_curve(labels: ArrayLike, scores: ArrayLike) -> KsCurve:
    """Cumulative bad and good shares as the cut-off moves from the riskiest score down."""
    y, s = _prepare(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    y_sorted, s_sorted = y[order], s[order]
    distinct = np.r_[np.flatnonzero(np.diff(s_sorted)), y_sorted.shape[0] - 1]
    bads = np.cumsum(y_sorted)[distinct]
    goods = (distinct + 1) - bads
    return KsCurve(s_sorted[distinct], bads / y.sum(), goods / (y.shape[0] - y.sum()))


def ks(labels: ArrayLike, scores: ArrayLike) -> float:
    """Kolmogorov–Smirnov statistic: the largest gap between the bad and good score CDFs."""
    curve = ks_curve(labels, scores)
    return float(np.max(np.abs(curve.cumulative_bad - curve.cumulative_good)))


def psi_from_counts(expected: ArrayLike, actual: ArrayLike) -> float:
    """PSI = Σ (a − e) · ln(a / e) over buckets, from counts (or shares) per bucket."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1 or e.shape[0] == 0:
        raise ValueError("expected and actual need the same, non-empty set of buckets")
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("expected and actual each need at least one observation")
    e_share = np.maximum(e / e.sum(), _PSI_FLOOR)
    a_share = np.maximum(a / a.sum(), _PSI_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi(expected: ArrayLike, actual: ArrayLike, bins: int | Sequence[float] = 10) -> float:
    """Population stability of `actual` against `expected` (e.g. development vs recent scores).

    `bins` is a number of quantile buckets of `expected`, or explicit inner cut points;
    buckets are (c_i, c_i+1]. Missing values (NaN) form their own bucket.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e_present, a_present = e[~np.isnan(e)], a[~np.isnan(a)]
    if isinstance(bins, int):
        if bins < 2:
            raise ValueError("psi needs at least 2 bins")
        if e_present.shape[0] == 0:
            cuts = np.empty(0)
        else:
            levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
            cuts = np.unique(np.quantile(e_present, levels, method="inverted_cdf"))
    else:
        cuts = np.unique(np.asarray(bins, dtype=np.float64))
    size = cuts.shape[0] + 2  # value buckets plus the missing bucket
    e_counts = np.bincount(np.searchsorted(cuts, e_present, side="left"), minlength=size)
    a_counts = np.bincount(np.searchsorted(cuts, a_present, side="left"), minlength=size)
    e_counts[-1] = e.shape[0] - e_present.shape[0]
    a_counts[-1] = a.shape[0] - a_present.shape[0]
    keep = (e_counts + a_counts) > 0
    return psi_from_counts(e_counts[keep], a_counts[keep])


def psi_status(value: float) -> Literal["stable", "watch", "alert"]:
    """Monitoring verdict for a PSI value."""
    if value >= PSI_ALERT_THRESHOLD:
        return "alert"
    if value >= PSI_WATCH_THRESHOLD:
        return "watch"
    return "stable"
