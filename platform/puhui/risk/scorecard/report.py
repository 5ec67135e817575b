"""The validation report: one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

import jinja2
import numpy as np
from markupsafe import Markup

from puhui.risk import metrics as risk_metrics
from puhui.risk.scorecard.charts import Series, bar_chart, histogram, line_chart
from puhui.risk.scorecard.training import TrainingOutcome

__all__ = ["render_report"]

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("puhui.risk.scorecard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def render_report(outcome: TrainingOutcome) -> str:
    """Render the report of a training run (model, metrics, charts) as HTML text."""
    train, test = outcome.train, outcome.test
    roc = [
        Series(
            f"{split.name} (AUC {outcome.metrics[split.name]['auc']:.3f})",
            curve.false_positive_rate,
            curve.true_positive_rate,
        )
        for split, curve in (
            (train, risk_metrics.roc_curve(train.bad, train.pd)),
            (test, risk_metrics.roc_curve(test.bad, test.pd)),
        )
    ]
    ks_curve = risk_metrics.ks_curve(test.bad, test.pd)
    population = np.linspace(0.0, 1.0, ks_curve.thresholds.shape[0] + 1)[1:]
    grade_rows = outcome.metrics["grades"]["test"]
    ivs = sorted(
        ((review.name, review.iv) for review in outcome.reviews if review.iv is not None),
        key=lambda item: -item[1],
    )[:20]
    charts = {
        "roc": line_chart(
            "ROC curve",
            roc,
            x_label="false positive rate (goods)",
            y_label="true positive rate (bads)",
            diagonal=True,
        ),
        "ks": line_chart(
            f"KS curve, test (KS {outcome.metrics['test']['ks']:.3f})",
            [
                Series("cumulative bads", population, ks_curve.cumulative_bad),
                Series("cumulative goods", population, ks_curve.cumulative_good),
            ],
            x_label="score cut-offs, riskiest first (share of distinct scores)",
            y_label="cumulative share",
        ),
        "distribution": histogram(
            "Score distribution, test",
            [("goods", test.score[test.bad == 0]), ("bads", test.score[test.bad == 1])],
            x_label="score",
        ),
        "grades": bar_chart(
            "Bad rate by grade, test",
            [row["grade"] for row in grade_rows],
            [row["bad_rate"] or 0.0 for row in grade_rows],
            x_label="grade",
            y_label="bad rate",
            value_format="{:.1%}",
        ),
        "iv": bar_chart(
            "Information value by column",
            [name for name, _ in ivs],
            [iv for _, iv in ivs],
            x_label="column",
            y_label="IV",
        ),
    }
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        doc=outcome.model.document,
        metrics=outcome.metrics,
        reviews=outcome.reviews,
        charts={name: Markup(svg) for name, svg in charts.items()},  # noqa: S704 — SVG we built, text escaped
        psi_alert=risk_metrics.PSI_ALERT_THRESHOLD,
    )
