"""Writes a trained scorecard to a directory: model.json, metrics.json and report.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from puhui.risk.scorecard.errors import ScorecardError
from puhui.risk.scorecard.training import TrainingOutcome

__all__ = ["METRICS_FILE", "MODEL_FILE", "REPORT_FILE", "ScorecardFiles", "write_scorecard"]

MODEL_FILE: Final = "model.json"
METRICS_FILE: Final = "metrics.json"
REPORT_FILE: Final = "report.html"


@dataclass(frozen=True, slots=True)
class ScorecardFiles:
    """Where a scorecard's files were written."""

    model: Path
    metrics: Path
    report: Path


def write_scorecard(outcome: TrainingOutcome, out_dir: Path | str) -> ScorecardFiles:
    """Write model, metrics and report into `out_dir` (created if needed)."""
    from puhui.risk.scorecard.report import render_report  # jinja2 only when writing reports

    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        files = ScorecardFiles(
            directory / MODEL_FILE, directory / METRICS_FILE, directory / REPORT_FILE
        )
        outcome.model.save(files.model)
        files.metrics.write_bytes(
            msgspec.json.format(msgspec.json.encode(outcome.metrics), indent=2) + b"\n"
        )
        files.report.write_text(render_report(outcome), encoding="utf-8")
    except OSError as exc:
        raise ScorecardError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    return files
