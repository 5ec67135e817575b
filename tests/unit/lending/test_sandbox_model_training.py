"""The sandbox scorecard is trained once per directory: the first published model stands."""

from __future__ import annotations

from pathlib import Path

from puhui.lending.seed import _train_once


def test_a_second_training_leaves_the_published_model_alone(tmp_path: Path) -> None:
    directory = tmp_path / "models" / "sandbox"
    model_file = directory / "model.json"
    _train_once(directory, model_file, 1_000)
    first = model_file.read_bytes()
    # What a second process that checked before the first published does: train again.
    _train_once(directory, model_file, 1_000)
    assert model_file.read_bytes() == first
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["model.json", "metrics.json", "report.html", "sandbox_borrowers.csv"]
    )  # the winner's companions beside it, no scratch directory left behind
