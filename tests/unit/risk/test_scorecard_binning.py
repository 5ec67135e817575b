"""WOE/IV maths and the binning rules: monotone numeric bins, pooled rare categories, missing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.risk.scorecard.binning import BinningPolicy, bin_feature, woe_iv
from puhui.risk.scorecard.dataset import CategoricalColumn, NumericColumn


def test_woe_and_iv_on_a_hand_example_without_smoothing() -> None:
    goods, bads = [40, 30, 10], [5, 5, 10]
    woe, iv = woe_iv(goods, bads, smoothing=0.0)
    # Good shares 0.5/0.375/0.125, bad shares 0.25/0.25/0.5.
    assert woe.tolist() == pytest.approx([math.log(2.0), math.log(1.5), math.log(0.25)])
    expected_iv = 0.25 * math.log(2.0) + 0.125 * math.log(1.5) + 0.375 * math.log(4.0)
    assert iv == pytest.approx(expected_iv)
    assert iv == pytest.approx(0.74383, abs=1e-5)


def test_laplace_smoothing_keeps_woe_finite_for_pure_bins() -> None:
    woe, iv = woe_iv([50, 0], [0, 10], smoothing=0.5)
    assert np.isfinite(woe).all()
    assert woe[0] == pytest.approx(math.log((50.5 / 51) / (0.5 / 11)))
    assert math.isfinite(iv)


def _signal(n: int, slope: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + slope * x)))).astype(np.int8)
    return x, y


def _assert_monotone(rates: list[float]) -> None:
    steps = np.diff(rates)
    assert (steps > 0).all() or (steps < 0).all(), rates


@settings(max_examples=30, deadline=None)
@given(
    slope=st.floats(-2.0, 2.0).filter(lambda s: abs(s) > 0.05),
    seed=st.integers(0, 10_000),
    missing_share=st.sampled_from([0.0, 0.1]),
)
def test_numeric_bins_are_monotone_in_bad_rate_and_large_enough(
    slope: float, seed: int, missing_share: float
) -> None:
    x, y = _signal(3000, slope, seed)
    x[: int(missing_share * x.shape[0])] = np.nan
    policy = BinningPolicy(min_bin_share=0.05)
    binning = bin_feature(NumericColumn("x", x), y, policy)
    values = [b for b in binning.bins if not b.is_missing]
    if len(values) > 1:
        _assert_monotone([b.bad_rate for b in values])
        assert min(b.count for b in values) >= 0.05 * x.shape[0]
    assert len(values) <= policy.max_bins
    assert sum(b.count for b in binning.bins) == x.shape[0]
    assert any(b.is_missing for b in binning.bins) == (missing_share > 0)


def test_strong_signal_keeps_several_bins_and_places_values_by_their_range() -> None:
    x, y = _signal(5000, 1.2, 3)
    binning = bin_feature(NumericColumn("x", x), y)
    assert len(binning.bins) >= 4
    assert binning.iv > 0.5
    # Bad rate rises with x, so WOE (ln good/bad) falls.
    assert binning.bins[0].woe > binning.bins[-1].woe
    low, high = binning.bins[0], binning.bins[1]
    assert low.upper is not None
    probe = NumericColumn("x", np.array([low.upper, np.nextafter(low.upper, np.inf)]))
    assert binning.assign(probe).tolist() == [0, 1]
    assert high.lower == low.upper


def test_missing_values_get_their_own_bin_and_unseen_missing_the_worst_bin() -> None:
    x, y = _signal(2000, 1.0, 4)
    with_missing = x.copy()
    with_missing[:200] = np.nan
    binning = bin_feature(NumericColumn("x", with_missing), y)
    assert binning.bins[binning.missing_bin].is_missing
    assert binning.bins[binning.missing_bin].count == 200
    complete = bin_feature(NumericColumn("x", x), y)
    worst = min(range(len(complete.bins)), key=lambda i: complete.bins[i].woe)
    assert not any(b.is_missing for b in complete.bins)
    assert complete.assign(NumericColumn("x", np.array([np.nan]))).tolist() == [worst]


def test_rare_categories_are_pooled_and_unseen_categories_join_them() -> None:
    rng = np.random.default_rng(5)
    categories = rng.choice(["A", "B", "C", "x1", "x2"], p=[0.45, 0.3, 0.21, 0.02, 0.02], size=4000)
    risk = {"A": -2.5, "B": -1.5, "C": -0.5, "x1": 0.0, "x2": 0.0}
    y = (rng.random(4000) < 1 / (1 + np.exp(-np.array([risk[c] for c in categories])))).astype(
        np.int8
    )
    values = np.array(categories.tolist(), dtype=object)
    values[:50] = None
    binning = bin_feature(CategoricalColumn("grade", values), y)
    pooled = [b for b in binning.bins if b.is_other]
    assert len(pooled) == 1
    assert {"x1", "x2"} <= set(pooled[0].categories)
    probe = CategoricalColumn("grade", np.array(["A", "never-seen", None], dtype=object))
    index = binning.assign(probe).tolist()
    assert binning.bins[index[0]].categories == ("A",)
    assert binning.bins[index[1]].is_other
    assert binning.bins[index[2]].is_missing
    by_category = {c: b.woe for b in binning.bins for c in b.categories}
    assert by_category["A"] > by_category["B"] > by_category["C"]
