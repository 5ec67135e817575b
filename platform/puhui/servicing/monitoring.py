"""Model monitoring and re-validation (JR/T 0269 6.5.2 d): stability and power of the scorecard.

PSI per feature and for the score between the development sample and recent applications,
KS and AUC on loans whose outcome has matured, bad rate by grade; an HTML report with inline
SVG charts; an alert for every PSI above ``PSI_ALERT_THRESHOLD`` (0.25).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path

import numpy as np
import numpy.typing as npt

from puhui.clock import utcnow
from puhui.risk.metrics import PSI_ALERT_THRESHOLD, auc, ks, psi, psi_status
from puhui.risk.scorecard.charts import Series, bar_chart, histogram, line_chart

__all__ = ["MonitoringReport", "Sample", "build_report", "load_sample", "render_html"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Sample:
    """Scored applications: numeric features (NaN = missing), scores, grades, matured outcomes."""

    features: Mapping[str, FloatArray]
    scores: FloatArray
    grades: tuple[str, ...] = ()
    defaulted: npt.NDArray[np.int8] | None = None  # 1 bad, 0 good; None while immature

    @property
    def size(self) -> int:
        return int(self.scores.shape[0])


@dataclass(frozen=True, slots=True)
class MonitoringReport:
    model: str
    generated_at: datetime
    development_size: int
    recent_size: int
    score_psi: float | None
    feature_psi: dict[str, float]
    ks: float | None
    auc: float | None
    bad_rate_by_grade: dict[str, tuple[int, float]]
    alerts: tuple[str, ...] = field(default=())
    development_scores: FloatArray = field(default_factory=lambda: np.empty(0), repr=False)
    recent_scores: FloatArray = field(default_factory=lambda: np.empty(0), repr=False)
    # grade → (share of the development sample, share of recent applications)
    grade_shares: dict[str, tuple[float, float]] = field(default_factory=dict)
    window: tuple[datetime, datetime] | None = None


def build_report(model: str, development: Sample, recent: Sample) -> MonitoringReport:
    """Stability of ``recent`` against ``development``; power on recent loans with outcomes."""
    score_psi = psi(development.scores, recent.scores)
    feature_psi = {
        name: psi(values, recent.features[name])
        for name, values in sorted(development.features.items())
        if name in recent.features and not np.all(np.isnan(values))
    }
    ks_value = auc_value = None
    bad_rates: dict[str, tuple[int, float]] = {}
    if recent.defaulted is not None and 0 < int(recent.defaulted.sum()) < recent.size:
        # A high score means low risk, so the bad label is scored by the negated score.
        ks_value = ks(recent.defaulted, -recent.scores)
        auc_value = auc(recent.defaulted, -recent.scores)
    if recent.defaulted is not None and recent.grades:
        for grade in sorted(set(recent.grades)):
            mask = np.array([g == grade for g in recent.grades])
            count = int(mask.sum())
            bad_rates[grade] = (count, float(recent.defaulted[mask].mean()) if count else 0.0)
    alerts = [f"score PSI {score_psi:.3f}"] if score_psi > PSI_ALERT_THRESHOLD else []
    alerts += [f"{n} PSI {v:.3f}" for n, v in feature_psi.items() if v > PSI_ALERT_THRESHOLD]
    return MonitoringReport(
        model=model,
        generated_at=utcnow(),
        development_size=development.size,
        recent_size=recent.size,
        score_psi=score_psi,
        feature_psi=feature_psi,
        ks=ks_value,
        auc=auc_value,
        bad_rate_by_grade=bad_rates,
        alerts=tuple(alerts),
        development_scores=development.scores,
        recent_scores=recent.scores,
    )


def render_html(report: MonitoringReport) -> str:
    """A one-file re-validation report: tables and inline SVG, no script, no external resource."""
    rows = "".join(
        f"<tr><td>{escape(n)}</td><td>{v:.4f}</td><td>{psi_status(v)}</td></tr>"
        if v is not None
        else f"<tr><td>{escape(n)}</td><td>—</td><td>no recent data</td></tr>"
        for n, v in [("score", report.score_psi), *report.feature_psi.items()]
    )
    grade_rows = "".join(
        f"<tr><td>{escape(g)}</td><td>{c}</td><td>{r:.2%}</td></tr>"
        for g, (c, r) in report.bad_rate_by_grade.items()
    )
    alerts = "".join(f"<li>{escape(a)}</li>" for a in report.alerts) or "<li>none</li>"
    charts = [
        bar_chart(
            "PSI by feature",
            list(report.feature_psi) or ["(none)"],
            list(report.feature_psi.values()) or [0.0],
            x_label="feature",
            y_label="PSI",
        ),
    ]
    if report.development_scores.size and report.recent_scores.size:
        charts.append(
            histogram(
                "Score distribution",
                [("development", report.development_scores), ("recent", report.recent_scores)],
                x_label="score",
            )
        )
    if report.grade_shares:
        grades = list(report.grade_shares)
        positions = np.arange(len(grades), dtype=np.float64)
        shares = np.array(list(report.grade_shares.values()), dtype=np.float64)
        charts.append(
            line_chart(
                "Share of applications by grade (score bands)",
                [
                    Series("development", positions, shares[:, 0]),
                    Series("recent", positions, shares[:, 1]),
                ],
                x_label="grade " + " · ".join(f"{i}={g}" for i, g in enumerate(grades)),
                y_label="share",
            )
        )
    if report.bad_rate_by_grade:
        charts.append(
            bar_chart(
                "Bad rate by grade",
                list(report.bad_rate_by_grade),
                [r for _, r in report.bad_rate_by_grade.values()],
                x_label="grade",
                y_label="bad rate",
            )
        )
    window = (
        f" · recent window {report.window[0].date()} – {report.window[1].date()}"
        if report.window
        else ""
    )
    power = (
        f"<p>KS {report.ks:.4f} · AUC {report.auc:.4f}</p>"
        if report.ks is not None and report.auc is not None
        else "<p>No matured outcomes yet: KS and AUC not computed.</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Model re-validation {escape(report.model)}</title></head><body>"
        f"<h1>Model re-validation: {escape(report.model)}</h1>"
        f"<p>Generated {report.generated_at.isoformat()} · development n={report.development_size}"
        f" · recent n={report.recent_size}{window} · alert threshold PSI &gt; "
        f"{PSI_ALERT_THRESHOLD}</p>"
        f"<h2>Alerts</h2><ul>{alerts}</ul>"
        "<h2>Stability (PSI)</h2><table><tr><th>variable</th><th>PSI</th><th>status</th></tr>"
        f"{rows}</table><h2>Discriminatory power</h2>{power}"
        "<h2>Bad rate by grade</h2><table><tr><th>grade</th><th>loans</th><th>bad rate</th></tr>"
        f"{grade_rows}</table><h2>Charts</h2>{''.join(charts)}</body></html>"
    )


def load_sample(
    path: Path | str, *, score: str = "score", grade: str = "grade", target: str = "defaulted"
) -> Sample:
    """Read a scored sample from CSV: numeric columns become features; blank cells are missing."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no rows")
    names = [n for n in rows[0] if n not in {score, grade, target}]
    features: dict[str, FloatArray] = {}
    for name in names:
        values = [_float(r[name]) for r in rows]
        if all(v is None or not math.isnan(v) for v in values) and any(
            v is not None for v in values
        ):
            features[name] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float64
            )
    scores = np.array([float(r[score]) for r in rows], dtype=np.float64)
    grades: Sequence[str] = tuple(r.get(grade, "") for r in rows) if grade in rows[0] else ()
    defaulted = None
    if target in rows[0] and all(r[target] in {"0", "1"} for r in rows):
        defaulted = np.array([int(r[target]) for r in rows], dtype=np.int8)
    return Sample(features=features, scores=scores, grades=tuple(grades), defaulted=defaulted)


def _float(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return math.nan  # a non-numeric column: excluded by the caller
    return value if math.isfinite(value) else None
