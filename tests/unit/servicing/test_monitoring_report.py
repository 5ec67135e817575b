"""Model monitoring: stable samples stay quiet; a shifted population raises PSI alerts."""

from __future__ import annotations

import numpy as np

from puhui.servicing.monitoring import Sample, build_report, render_html


def sample(rng: np.random.Generator, n: int, shift: float, with_outcomes: bool) -> Sample:
    income = rng.normal(10 + shift, 2, n)
    scores = 600 + 20 * (income - 10) + rng.normal(0, 10, n)
    grades = tuple("A" if s > 620 else "B" if s > 590 else "C" for s in scores)
    pd = 1 / (1 + np.exp((scores - 560) / 20))
    defaulted = (rng.random(n) < pd).astype(np.int8) if with_outcomes else None
    return Sample(
        features={"income": income, "noise": rng.normal(0, 1, n)},
        scores=scores,
        grades=grades,
        defaulted=defaulted,
    )


def test_a_stable_population_raises_no_alert() -> None:
    rng = np.random.default_rng(7)
    report = build_report("m 1", sample(rng, 5000, 0, True), sample(rng, 5000, 0, True))
    assert report.alerts == ()
    assert report.score_psi < 0.1
    assert report.ks is not None
    assert report.auc is not None
    assert report.auc > 0.6
    rates = report.bad_rate_by_grade
    assert rates["C"][1] > rates["B"][1] > rates["A"][1]  # grades still rank risk


def test_a_shifted_population_alerts_on_the_score_and_the_feature() -> None:
    rng = np.random.default_rng(11)
    report = build_report("m 1", sample(rng, 5000, 0, True), sample(rng, 5000, 3, False))
    assert any(a.startswith("score PSI") for a in report.alerts)
    assert any(a.startswith("income PSI") for a in report.alerts)
    assert not any(a.startswith("noise") for a in report.alerts)
    assert report.ks is None  # recent loans have not matured yet
    html = render_html(report)
    assert html.count("<svg") >= 2
    assert "<script" not in html
    assert "income PSI" in html
