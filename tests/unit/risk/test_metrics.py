"""AUC, KS, Gini and PSI against hand-computed values and their defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.risk.metrics import (
    PSI_ALERT_THRESHOLD,
    auc,
    gini,
    ks,
    ks_curve,
    psi,
    psi_from_counts,
    psi_status,
    roc_curve,
)


def test_auc_ks_gini_on_a_hand_example() -> None:
    labels = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]
    # Bad pairs won: 0.35>0.1, 0.8>0.1, 0.8>0.4 — 3 of 4.
    assert auc(labels, scores) == pytest.approx(0.75)
    assert gini(labels, scores) == pytest.approx(0.5)
    # At the cut 0.8 half the bads and no goods are above: gap 0.5.
    assert ks(labels, scores) == pytest.approx(0.5)


def test_perfect_and_inverted_ranking() -> None:
    assert auc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert ks([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auc([0, 0, 1, 1], [4, 3, 2, 1]) == 0.0
    assert gini([0, 0, 1, 1], [4, 3, 2, 1]) == -1.0


def test_tied_scores_count_half_and_give_no_separation() -> None:
    assert auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert ks([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0


def test_roc_and_ks_curves_run_from_origin_to_one() -> None:
    curve = roc_curve([0, 1, 0, 1, 1], [0.2, 0.9, 0.4, 0.3, 0.7])
    assert (curve.false_positive_rate[0], curve.true_positive_rate[0]) == (0.0, 0.0)
    assert (curve.false_positive_rate[-1], curve.true_positive_rate[-1]) == (1.0, 1.0)
    steps = ks_curve([0, 1, 0, 1, 1], [0.2, 0.9, 0.4, 0.3, 0.7])
    assert steps.cumulative_bad[-1] == 1.0
    assert steps.cumulative_good[-1] == 1.0
    assert list(steps.thresholds) == sorted(steps.thresholds, reverse=True)


def test_metrics_refuse_one_class_or_bad_labels() -> None:
    with pytest.raises(ValueError, match="both goods and bads"):
        auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="0 \\(good\\) or 1 \\(bad\\)"):
        ks([0, 2], [0.2, 0.3])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 20)), min_size=2, max_size=60).filter(
        lambda rows: 0 < sum(bad for bad, _ in rows) < len(rows)
    )
)
def test_auc_is_the_pairwise_win_rate(rows: list[tuple[bool, int]]) -> None:
    labels = [int(bad) for bad, _ in rows]
    scores = [float(score) for _, score in rows]
    bads = [s for (b, s) in rows if b]
    goods = [s for (b, s) in rows if not b]
    wins = sum((b > g) + 0.5 * (b == g) for b in bads for g in goods)
    expected = wins / (len(bads) * len(goods))
    assert auc(labels, scores) == pytest.approx(expected)
    # Reversing the ranking mirrors the AUC; a monotone transform leaves it alone.
    assert auc(labels, [-s for s in scores]) == pytest.approx(1 - expected)
    assert auc(labels, [math.exp(s / 5) for s in scores]) == pytest.approx(expected)
    assert 0.0 <= ks(labels, scores) <= 1.0


def test_psi_hand_computed_from_counts() -> None:
    # (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5)
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi_from_counts([50, 50], [25, 75]) == pytest.approx(expected)
    assert psi_from_counts([10, 20, 30], [10, 20, 30]) == 0.0


def test_psi_of_a_sample_against_itself_is_zero_and_a_shift_alerts() -> None:
    rng = np.random.default_rng(7)
    development = rng.normal(600, 50, size=20_000)
    assert psi(development, development) == 0.0
    assert psi(development, rng.normal(600, 50, size=20_000)) < 0.01
    shifted = psi(development, rng.normal(660, 50, size=20_000))
    assert shifted >= PSI_ALERT_THRESHOLD
    assert psi_status(shifted) == "alert"
    assert psi_status(0.15) == "watch"
    assert psi_status(0.01) == "stable"


def test_psi_counts_missing_values_as_their_own_bucket() -> None:
    development = np.array([1.0, 2.0, 3.0, 4.0] * 50)
    recent = development.copy()
    recent[:100] = np.nan
    assert psi(development, development) == 0.0
    assert psi(development, recent, bins=[1.5, 2.5, 3.5]) > PSI_ALERT_THRESHOLD


def test_psi_with_explicit_edges_matches_counts() -> None:
    expected = [1.0, 1.0, 2.0, 3.0]
    actual = [1.0, 3.0, 3.0, 3.0]
    # Buckets (-inf, 1.5], (1.5, +inf): expected 2/2, actual 1/3.
    assert psi(expected, actual, bins=[1.5]) == pytest.approx(psi_from_counts([2, 2], [1, 3]))
