"""`puhui risk …` commands: develop a scorecard from any CSV and write model, metrics and report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from puhui.risk.scorecard.binning import BinningPolicy
from puhui.risk.scorecard.dataset import load_csv
from puhui.risk.scorecard.errors import ScorecardError
from puhui.risk.scorecard.export import write_scorecard
from puhui.risk.scorecard.master_scale import default_master_scale, load_master_scale
from puhui.risk.scorecard.scaling import PointsScaling
from puhui.risk.scorecard.training import STAGES, TrainingConfig, train_scorecard

__all__ = ["risk"]

_STAGE_TEXT = {
    "load": "reading the CSV",
    "split": "splitting train / test",
    "binning": "WOE binning",
    "selection": "selecting features (IV, correlation)",
    "fitting": "fitting logistic regression",
    "scaling": "scaling points",
    "validation": "validating (AUC, KS, PSI, grades)",
    "write": "writing model, metrics and report",
}


@click.group()
def risk() -> None:
    """Credit risk models: scorecards, PD and risk grades (JR/T 0269 9.2.2 b)."""


@risk.group()
def scorecard() -> None:
    """Develop and validate credit scorecards."""


@scorecard.command()
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Development CSV: one row per borrower, a header row, numeric and text columns.",
)
@click.option("--target", required=True, help="Column holding the outcome (bad or good).")
@click.option(
    "--bad-value",
    default=None,
    help="Target value meaning 'bad'. Default: 1, bad, yes or true (case-insensitive).",
)
@click.option(
    "--test-size",
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=0.3,
    show_default=True,
    help="Share of rows held out (stratified by outcome) for validation.",
)
@click.option(
    "--seed", type=int, default=42, show_default=True, help="Seed of the train/test split."
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for model.json, metrics.json and report.html (created if missing).",
)
@click.option(
    "--exclude",
    multiple=True,
    help="Column to leave out of the model (repeatable), e.g. one barred from credit decisions.",
)
@click.option(
    "--min-iv",
    type=click.FloatRange(min=0.0),
    default=0.02,
    show_default=True,
    help="Drop features whose information value is below this.",
)
@click.option(
    "--max-correlation",
    type=click.FloatRange(0.0, 1.0),
    default=0.7,
    show_default=True,
    help="Of two features whose WOE correlate above this, keep the one with the higher IV.",
)
@click.option(
    "--min-bin-share",
    type=click.FloatRange(0.0, 0.5, min_open=True),
    default=0.05,
    show_default=True,
    help="Smallest share of rows a bin may hold.",
)
@click.option(
    "--pdo", type=float, default=20.0, show_default=True, help="Points to double the odds."
)
@click.option(
    "--base-score", type=float, default=600.0, show_default=True, help="Score at the base odds."
)
@click.option(
    "--base-odds",
    type=float,
    default=50.0,
    show_default=True,
    help="Good:bad odds at the base score.",
)
@click.option(
    "--master-scale",
    "master_scale_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON master scale (grades with PD upper bounds). Default: the bank's SME scale.",
)
@click.option("--model-id", default=None, help="Model id. Default: derived from data and settings.")
@click.option("--version", "model_version", default="1", show_default=True, help="Model version.")
def train(
    data_path: Path,
    target: str,
    bad_value: str | None,
    test_size: float,
    seed: int,
    out_dir: Path,
    exclude: tuple[str, ...],
    min_iv: float,
    max_correlation: float,
    min_bin_share: float,
    pdo: float,
    base_score: float,
    base_odds: float,
    master_scale_path: Path | None,
    model_id: str | None,
    model_version: str,
) -> None:
    """Train a WOE/logistic scorecard on a CSV and write model, metrics and an HTML report.

    Example: puhui risk scorecard train --data loans.csv --target default --out models/sme
    """
    console = Console(stderr=True)
    try:
        scaling = PointsScaling(pdo=pdo, base_score=base_score, base_odds=base_odds)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        master_scale = (
            load_master_scale(master_scale_path) if master_scale_path else default_master_scale()
        )
        config = TrainingConfig(
            test_size=test_size,
            seed=seed,
            binning=BinningPolicy(min_bin_share=min_bin_share),
            min_iv=min_iv,
            max_correlation=max_correlation,
            scaling=scaling,
            master_scale=master_scale,
            model_id=model_id,
            version=model_version,
        )
        stages = ("load", *STAGES, "write")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(_STAGE_TEXT["load"], total=len(stages))

            def advance(stage: str) -> None:
                progress.update(task, completed=stages.index(stage), description=_STAGE_TEXT[stage])

            dataset = load_csv(data_path, target=target, bad_value=bad_value, exclude=exclude)
            outcome = train_scorecard(dataset, config, on_stage=advance)
            advance("write")
            files = write_scorecard(outcome, out_dir)
            progress.update(task, completed=len(stages))
    except ScorecardError as exc:
        raise click.ClickException(str(exc)) from exc

    figures = outcome.metrics
    click.echo(f"model {outcome.model.model_id} v{outcome.model.version}")
    for split in ("train", "test"):
        m = figures[split]
        click.echo(
            f"  {split:5} rows {m['rows']:>8}  bad rate {m['bad_rate']:.2%}  "
            f"AUC {m['auc']:.3f}  KS {m['ks']:.3f}  Gini {m['gini']:.3f}"
        )
    click.echo(
        f"  score PSI train vs test {figures['psi_score_train_vs_test']:.4f} "
        f"({figures['psi_status']})"
    )
    kept = ", ".join(f"{f['name']} ({f['iv']:.3f})" for f in figures["features"])
    click.echo(f"  features kept (IV): {kept}")
    click.echo(f"wrote {files.model}, {files.metrics}, {files.report}")
