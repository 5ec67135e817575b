"""`puhui risk scorecard train` on CSVs it has never seen, and its errors on bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from puhui.risk.cli import risk
from puhui.risk.scorecard import ScorecardModel


def _write_csv(path: Path, *, signal: bool, n: int = 3000, seed: int = 1) -> Path:
    """Mixed numeric / categorical / missing columns, an id column, a text target."""
    rng = np.random.default_rng(seed)
    turnover = rng.lognormal(13, 0.8, size=n)
    months_overdue = rng.poisson(0.7, size=n)
    region = rng.choice(
        ["north", "south", "east", "west", "island"], p=[0.3, 0.3, 0.2, 0.17, 0.03], size=n
    )
    sector = rng.choice(["farm", "shop", "workshop"], size=n)
    noise = rng.normal(size=n)
    if signal:
        effect = {"north": -0.4, "south": 0.0, "east": 0.3, "west": 0.6, "island": 0.2}
        z = (
            -1.4
            - 0.9 * (np.log(turnover) - 13)
            + 0.8 * months_overdue
            + np.array([effect[r] for r in region])
        )
        bad = rng.random(n) < 1 / (1 + np.exp(-z))
    else:
        bad = rng.random(n) < 0.2
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["loan_ref", "turnover", "months_overdue", "region", "sector", "noise", "status"]
        )
        for i in range(n):
            writer.writerow(
                [
                    f"L-{seed}-{i:06d}",
                    "NA" if i % 17 == 0 else f"{turnover[i]:.2f}",
                    "" if i % 23 == 0 else str(months_overdue[i]),
                    "null" if i % 29 == 0 else region[i],
                    sector[i],
                    f"{noise[i]:.4f}",
                    "bad" if bad[i] else "good",
                ]
            )
    return path


def _train(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(risk, ["scorecard", "train", *args])
    return result.exit_code, result.output


def test_signal_csv_trains_a_model_with_report_and_honest_metrics(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "loans.csv", signal=True)
    out = tmp_path / "model"
    code, output = _train(
        "--data", str(data), "--target", "status", "--out", str(out), "--seed", "7"
    )
    assert code == 0, output
    assert "AUC" in output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["auc"] > 0.7
    assert metrics["train"]["auc"] > 0.7
    for split in ("train", "test"):
        assert {"auc", "ks", "gini", "rows"} <= set(metrics[split])
        assert metrics[split]["gini"] == pytest.approx(2 * metrics[split]["auc"] - 1)
    assert metrics["rows"]["train"] + metrics["rows"]["test"] == 3000
    assert metrics["rows"]["test"] == pytest.approx(900, abs=2)
    kept = {f["name"]: f["iv"] for f in metrics["features"]}
    assert {"turnover", "months_overdue"} <= set(kept)
    # Pure noise may cross the IV bar by chance on 2,100 rows, but never rivals real signal.
    assert metrics["iv"]["noise"] < min(kept["turnover"], kept["months_overdue"]) / 5
    reviews = {c["name"]: c for c in metrics["candidates"]}
    assert reviews["loan_ref"]["status"] == "excluded"
    assert "identifier" in reviews["loan_ref"]["reason"]

    model = ScorecardModel.load(out / "model.json")
    assert model.document.training_data.rows == 3000
    result = model.score({"turnover": "250000", "months_overdue": 0, "region": "north"})
    assert result.grade in model.document.master_scale.names
    report = (out / "report.html").read_text()
    assert report.count("<svg") == 5
    assert "ROC curve" in report
    assert "turnover" in report
    assert "<script" not in report


def test_random_target_gives_chance_level_test_auc(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "random.csv", signal=False, seed=2)
    out = tmp_path / "model"
    code, output = _train(
        "--data", str(data), "--target", "status", "--out", str(out), "--min-iv", "0"
    )
    assert code == 0, output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["auc"] == pytest.approx(0.5, abs=0.06)


def test_bad_value_option_chooses_the_bad_class(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "loans.csv", signal=True)
    out = tmp_path / "inverted"
    code, output = _train(
        "--data", str(data), "--target", "status", "--bad-value", "good", "--out", str(out)
    )
    assert code == 0, output
    metrics = json.loads((out / "metrics.json").read_text())
    # Now 'good' loans are the event: the bad rate is the former good rate.
    assert metrics["train"]["bad_rate"] > 0.5


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("", "status", "is empty"),
        ("a,status\n", "status", "no data rows"),
        ("a,b\n1,2\n3,4\n", "status", "target column 'status' is not in"),
        ("a,status\n1,good\n2,good\n", "status", "only one class"),
        ("a,status\n1,good\n2\n", "status", "line 3 has 1 fields"),
        ("a,status\n" + "".join(f"{i},{i % 2}\n" for i in range(12)), "status", "too few"),
    ],
)
def test_bad_input_is_a_clean_error(
    tmp_path: Path, content: str, target: str, message: str
) -> None:
    data = tmp_path / "input.csv"
    data.write_text(content)
    code, output = _train("--data", str(data), "--target", target, "--out", str(tmp_path / "o"))
    assert code != 0
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "o" / "model.json").exists()


def test_missing_file_and_bad_options_are_usage_errors(tmp_path: Path) -> None:
    code, output = _train("--data", str(tmp_path / "absent.csv"), "--target", "t", "--out", "x")
    assert code == 2
    assert "does not exist" in output
    data = _write_csv(tmp_path / "loans.csv", signal=True, n=200)
    code, output = _train(
        "--data", str(data), "--target", "status", "--out", "x", "--test-size", "1.5"
    )
    assert code == 2
    assert "--test-size" in output


def test_help_explains_the_options() -> None:
    result = CliRunner().invoke(risk, ["scorecard", "train", "--help"])
    assert result.exit_code == 0
    for option in ("--data", "--target", "--bad-value", "--test-size", "--seed", "--out"):
        assert option in result.output
