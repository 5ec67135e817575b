"""Training to a model file and back: same scores, batch equals single, reason codes, bad input."""

from __future__ import annotations

import bisect
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.risk.scorecard import (
    ModelFileError,
    ScorecardDataError,
    ScorecardModel,
    ScoringInputError,
    TrainingConfig,
    TrainingOutcome,
    load_csv,
    train_scorecard,
)
from puhui.risk.scorecard.dataset import MISSING_TOKENS
from puhui.risk.scorecard.document import FeatureEntry
from puhui.risk.synthetic import TARGET, generate_sme_borrowers, write_borrowers_csv


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> TrainingOutcome:
    path = write_borrowers_csv(tmp_path_factory.mktemp("sme") / "borrowers.csv", 6000, seed=3)
    return train_scorecard(load_csv(path, target=TARGET), TrainingConfig(seed=3))


def _applicants(n: int, seed: int) -> list[dict[str, object]]:
    portfolio = generate_sme_borrowers(n, seed=seed)
    rows = []
    for i in range(n):
        row: dict[str, object] = {}
        for name, values in portfolio.columns.items():
            value = values[i]
            row[name] = None if isinstance(value, float) and np.isnan(value) else value
        rows.append(row)
    return rows


def test_the_sandbox_signal_is_found(outcome: TrainingOutcome) -> None:
    assert outcome.metrics["test"]["auc"] > 0.7
    kept = {f["name"] for f in outcome.metrics["features"]}
    assert "tax_credit_grade" in kept
    assert "monthly_invoice_count" not in kept  # pure noise
    reasons = {r.name: r for r in outcome.reviews}
    assert reasons["borrower_id"].status == "excluded"


def test_model_round_trip_gives_identical_scores(outcome: TrainingOutcome, tmp_path: Path) -> None:
    path = outcome.model.save(tmp_path / "model.json")
    loaded = ScorecardModel.load(path)
    assert loaded.document == outcome.model.document
    for applicant in _applicants(200, seed=99):
        before, after = outcome.model.score(applicant), loaded.score(applicant)
        assert after == before


def test_model_file_carries_provenance_and_the_scorecard_table(
    outcome: TrainingOutcome, tmp_path: Path
) -> None:
    document = json.loads(outcome.model.save(tmp_path / "model.json").read_text())
    assert document["format"] == "puhui.scorecard"
    assert document["format_version"] == 1
    assert len(document["training_data"]["sha256"]) == 64
    assert document["scaling"] == {"pdo": 20.0, "base_score": 600.0, "base_odds": 50.0}
    assert document["master_scale"]["grades"][-1]["pd_upper"] == 1.0
    first = document["features"][0]
    assert {"name", "coefficient", "iv", "bins"} <= set(first)
    assert {"label", "woe", "points", "count", "bads"} <= set(first["bins"][0])
    assert document["metrics"]["test"]["auc"] == outcome.metrics["test"]["auc"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_batch_scoring_matches_single_scoring(outcome: TrainingOutcome, seed: int) -> None:
    applicants = _applicants(20, seed)
    columns = {name: [row[name] for row in applicants] for name in applicants[0]}
    batch = outcome.model.score_batch(columns)
    for i, applicant in enumerate(applicants):
        single = outcome.model.score(applicant)
        assert batch.score[i] == pytest.approx(single.score, abs=1e-9)
        assert batch.pd[i] == pytest.approx(single.pd, rel=1e-12)
        assert batch.grades[i] == single.grade


def _reference_bin(entry: FeatureEntry, value: object) -> int:
    if entry.kind == "numeric":
        if value is None or value == "NA" or (isinstance(value, float) and math.isnan(value)):
            return entry.missing_bin
        assert isinstance(value, int | float)
        return bisect.bisect_left(entry.cuts, float(value))
    text = None if value is None else str(value).strip()
    if text is None or text.lower() in MISSING_TOKENS:
        return entry.missing_bin
    found = [i for i, entry_bin in enumerate(entry.bins) if text in entry_bin.categories]
    return found[0] if found else entry.unseen_bin


def _reference_score(model: ScorecardModel, features: dict[str, object]) -> tuple[float, float]:
    """Points and PD summed straight from the model file, characteristic by characteristic."""
    total, logit = 0.0, model.document.intercept
    for entry in model.document.features:
        chosen = entry.bins[_reference_bin(entry, features.get(entry.name))]
        total += chosen.points
        logit += entry.coefficient * chosen.woe
    if logit >= 0:
        return total, 1.0 / (1.0 + math.exp(-logit))
    return total, math.exp(logit) / (1.0 + math.exp(logit))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_single_scoring_is_exactly_the_model_file_arithmetic(
    outcome: TrainingOutcome, seed: int
) -> None:
    """Bit for bit, not approximately: a decision stores the score and PD under its hash."""
    model = outcome.model
    applicants = _applicants(30, seed)
    # the shapes a decision's snapshot can carry: ints, padded or missing-token texts, NaN
    applicants[0] = {k: int(v) if isinstance(v, float) else v for k, v in applicants[0].items()}
    applicants[1] = {k: f" {v} " if isinstance(v, str) else v for k, v in applicants[1].items()}
    applicants[2] = {
        k: "NA" if isinstance(v, str) else float("nan") for k, v in applicants[2].items()
    }
    for applicant in applicants * 2:  # twice: categories seen before take the remembered bin
        full = model.score(applicant)
        points, pd, grade, codes = model.score_summary(applicant)
        assert (points, pd) == _reference_score(model, applicant)
        assert (full.score, full.pd, full.grade) == (points, pd, grade)
        assert tuple(reason.code for reason in full.reason_codes) == codes
        assert grade == model.document.master_scale.grade_of(pd)


def test_score_pd_and_grade_agree_with_the_scaling(outcome: TrainingOutcome) -> None:
    model = outcome.model
    result = model.score(_applicants(1, seed=5)[0])
    scaling = model.document.scaling
    # The score is the scaled logit of the PD: odds(score) = (1 − PD) / PD.
    assert scaling.odds(result.score) == pytest.approx((1 - result.pd) / result.pd, rel=1e-9)
    assert result.grade == model.document.master_scale.grade_of(result.pd)
    assert sum(result.points_by_feature.values()) == pytest.approx(result.score)


def test_reason_codes_name_the_costliest_characteristics(outcome: TrainingOutcome) -> None:
    model = outcome.model
    weak = {"tax_credit_grade": "D", "utility_arrears_count": 6, "tax_revenue_trend": -0.5}
    result = model.score(weak)
    assert result.reason_codes
    gaps = [reason.points_below_max for reason in result.reason_codes]
    assert gaps == sorted(gaps, reverse=True)
    assert all(gap > 0 for gap in gaps)
    assert len(result.reason_codes) <= 4
    best = {f.name: max(b.points for b in f.bins) for f in model.document.features}
    for reason in result.reason_codes:
        assert reason.points == pytest.approx(result.points_by_feature[reason.feature])
        assert reason.points_below_max == pytest.approx(best[reason.feature] - reason.points)
    strong = model.score({"tax_credit_grade": "A", "utility_arrears_count": 0})
    assert strong.score > result.score
    assert strong.pd < result.pd


def test_missing_features_and_unseen_categories_still_score(outcome: TrainingOutcome) -> None:
    model = outcome.model
    empty = model.score({})
    assert 0.0 < empty.pd < 1.0
    assert model.score({"tax_credit_grade": "never-issued"}).grade
    assert model.score({"utility_arrears_count": "NA"}) == model.score({})


def test_bad_feature_values_are_refused(outcome: TrainingOutcome) -> None:
    with pytest.raises(ScoringInputError, match="numeric"):
        outcome.model.score({"utility_arrears_count": "three"})
    with pytest.raises(ScoringInputError, match="same length"):
        outcome.model.score_batch({"utility_arrears_count": [1, 2], "industry": ["retail"]})


def test_malformed_model_files_are_refused(outcome: TrainingOutcome, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ModelFileError, match="not a valid scorecard model file"):
        ScorecardModel.load(broken)
    document = json.loads(outcome.model.to_json())
    document["format_version"] = 99
    future = tmp_path / "future.json"
    future.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="unsupported model format version 99"):
        ScorecardModel.load(future)
    with pytest.raises(ModelFileError, match="cannot read"):
        ScorecardModel.load(tmp_path / "absent.json")


def test_too_few_bads_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    rows = ["x,bad"] + [f"{i},{1 if i < 3 else 0}" for i in range(200)]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ScorecardDataError, match="3 bad and 197 good"):
        train_scorecard(load_csv(path, target="bad"))
