"""Points scaling, logistic regression, master scale and the stratified split."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.risk.scorecard.logistic import fit_logistic
from puhui.risk.scorecard.master_scale import MasterScale, default_master_scale
from puhui.risk.scorecard.scaling import PointsScaling
from puhui.risk.scorecard.training import stratified_split


def test_score_at_base_odds_is_the_base_score_and_pdo_doubles_the_odds() -> None:
    scaling = PointsScaling(pdo=20, base_score=600, base_odds=50)
    # log-odds of bad at 50:1 good:bad is ln(1/50).
    assert scaling.score(math.log(1 / 50)) == pytest.approx(600.0)
    assert scaling.odds(600.0) == pytest.approx(50.0)
    assert scaling.odds(620.0) == pytest.approx(100.0)
    assert scaling.odds(580.0) == pytest.approx(25.0)
    assert scaling.factor == pytest.approx(20 / math.log(2))
    assert scaling.offset == pytest.approx(600 - 20 / math.log(2) * math.log(50))


@given(
    pdo=st.floats(5, 80),
    base=st.floats(300, 900),
    odds=st.floats(1, 200),
    score=st.floats(200, 1000),
)
def test_every_pdo_points_double_the_odds(
    pdo: float, base: float, odds: float, score: float
) -> None:
    scaling = PointsScaling(pdo=pdo, base_score=base, base_odds=odds)
    assert scaling.odds(score + pdo) == pytest.approx(2 * scaling.odds(score), rel=1e-9)


def test_bin_points_add_up_to_the_scaled_logit() -> None:
    scaling = PointsScaling()
    intercept, coefficients, woes = -2.0, [-0.8, -1.1, -0.5], [0.3, -0.4, 1.2]
    total = sum(
        scaling.points(beta, woe, intercept, len(woes))
        for beta, woe in zip(coefficients, woes, strict=True)
    )
    logit = intercept + sum(b * w for b, w in zip(coefficients, woes, strict=True))
    assert total == pytest.approx(scaling.score(logit))


def test_scaling_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        PointsScaling(pdo=0)
    with pytest.raises(ValueError, match="positive"):
        PointsScaling(base_odds=-1)


def test_logistic_regression_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40_000, 2))
    p = 1 / (1 + np.exp(-(-1.0 + 0.8 * x[:, 0] - 1.5 * x[:, 1])))
    y = (rng.random(40_000) < p).astype(np.int8)
    fit = fit_logistic(x, y, l2=0.0)
    assert fit.converged
    assert fit.intercept == pytest.approx(-1.0, abs=0.05)
    assert fit.coefficients.tolist() == pytest.approx([0.8, -1.5], abs=0.05)


def test_l2_penalty_shrinks_coefficients_but_not_the_intercept_rate() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2000, 1))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(0.5 + 2 * x[:, 0])))).astype(np.int8)
    loose = fit_logistic(x, y, l2=0.0)
    tight = fit_logistic(x, y, l2=5000.0)
    assert abs(tight.coefficients[0]) < abs(loose.coefficients[0]) / 2
    # With the slope shrunk away the intercept still matches the sample's bad rate.
    rate = y.mean()
    assert tight.intercept == pytest.approx(math.log(rate / (1 - rate)), abs=0.1)


def test_master_scale_assigns_grades_by_upper_bound() -> None:
    scale = default_master_scale()
    assert scale.grade_of(0.0) == "A1"
    assert scale.grade_of(0.005) == "A1"
    assert scale.grade_of(0.0050001) == "A2"
    assert scale.grade_of(1.0) == scale.names[-1]
    pds = np.array([0.001, 0.03, 0.2, 0.9])
    assert [scale.names[i] for i in scale.indices_of(pds)] == [
        scale.grade_of(float(pd)) for pd in pds
    ]


def test_master_scale_is_validated_as_data() -> None:
    with pytest.raises(msgspec.ValidationError, match="strictly increasing"):
        msgspec.json.decode(
            b'{"name":"x","grades":[{"grade":"A","pd_upper":0.2},{"grade":"B","pd_upper":0.1}]}',
            type=MasterScale,
        )
    with pytest.raises(msgspec.ValidationError, match=r"reach PD 1\.0"):
        msgspec.json.decode(
            b'{"name":"x","grades":[{"grade":"A","pd_upper":0.2}]}', type=MasterScale
        )


def test_stratified_split_keeps_the_bad_rate_and_is_seeded() -> None:
    bad = np.array([1] * 100 + [0] * 900, dtype=np.int8)
    train, test = stratified_split(bad, 0.3, seed=5)
    assert len(set(train.tolist()) & set(test.tolist())) == 0
    assert train.shape[0] + test.shape[0] == 1000
    assert bad[test].sum() == 30
    assert bad[train].sum() == 70
    again = stratified_split(bad, 0.3, seed=5)
    assert (again[1] == test).all()
    assert not (stratified_split(bad, 0.3, seed=6)[1] == test).all()
