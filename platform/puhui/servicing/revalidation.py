"""Model re-validation from stored data (JR/T 0269 6.5.2 d): the ``servicing.monitoring`` job.

The development sample is the active scorecard's own document: the training counts of every
bin of every characteristic, and the count of training rows per grade. Recent applications are
the credit decisions the model made in the window (their input snapshot holds the features).
PSI compares the two per feature (over the model's own bins) and for the score (over the
master-scale grades). KS and AUC use decisions whose loan's outcome has matured: bad when the
loan reached 90 days past due or a substandard-or-worse class, good when it was settled or
reached maturity without that. Every PSI above 0.25 is an alert. The run is stored with its
HTML report, once per model and run key, so running it twice changes nothing.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import msgspec
import numpy as np

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.risk.metrics import PSI_ALERT_THRESHOLD, auc, ks, psi_from_counts
from puhui.risk.registry import ModelRegistry
from puhui.risk.scorecard.document import FeatureEntry, ModelDocument
from puhui.servicing.models import ModelMonitoringReport
from puhui.servicing.monitoring import MonitoringReport, render_html
from puhui.servicing.repository import MonitoringRepository

__all__ = ["BAD_CLASSES", "BAD_DPD", "RevalidationRun", "bin_index", "run_revalidation"]

log = logging.getLogger("puhui.servicing.monitoring")

BAD_DPD: Final = 90
BAD_CLASSES: Final = frozenset({"substandard", "doubtful", "loss"})
_BATCH: Final = 2_000


class _Inputs(msgspec.Struct):
    features: dict[str, Any] = msgspec.field(default_factory=dict)


class _Snapshot(msgspec.Struct):
    inputs: _Inputs


class _Record(msgspec.Struct):
    """Only the part of a stored DecisionRecord the monitoring reads: the scored features."""

    snapshot: _Snapshot


_RECORD: Final = msgspec.json.Decoder(_Record)


def bin_index(entry: FeatureEntry, value: object) -> int:
    """The scorecard bin a value falls in, as the model scores it (missing, unseen, cuts)."""
    if value is None:
        return entry.missing_bin
    if entry.kind == "numeric":
        try:
            number = float(value) if isinstance(value, int | float | Decimal | str) else None
        except ValueError:
            number = None
        if number is None or number != number:  # NaN is missing
            return entry.missing_bin
        return bisect.bisect_left(entry.cuts, number)
    text = str(value)
    for index, candidate in enumerate(entry.bins):
        if text in candidate.categories:
            return index
    return entry.unseen_bin


def _psi(expected: Sequence[float], actual: Sequence[float]) -> float | None:
    pairs = [(e, a) for e, a in zip(expected, actual, strict=True) if e + a > 0]
    if not pairs or sum(a for _, a in pairs) <= 0 or sum(e for e, _ in pairs) <= 0:
        return None
    return psi_from_counts([e for e, _ in pairs], [a for _, a in pairs])


@dataclass(frozen=True, slots=True)
class RevalidationRun:
    report_id: str
    model: str
    recent: int
    matured: int
    score_psi: float | None
    alerts: tuple[str, ...]
    repeated: bool


def _development_grades(document: ModelDocument) -> dict[str, int]:
    rows = document.metrics.get("grades", {}).get("train", []) if document.metrics else []
    return {str(row["grade"]): int(row["rows"]) for row in rows if isinstance(row, dict)}


async def run_revalidation(
    sessions: SessionFactory,
    *,
    as_of: datetime | None = None,
    window_days: int = 90,
    outcome_window_days: int = 730,
    run_key: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> RevalidationRun:
    """Re-validate the active scorecard: stability on the decisions of the last ``window_days``,
    power on those of the last ``outcome_window_days`` whose loan outcome has matured."""
    now = as_of or utcnow()
    start = now - timedelta(days=window_days)
    key = run_key or now.date().isoformat()
    async with sessions.unit_of_work() as session:
        document = (await ModelRegistry(session).active_scorer()).model.document
        existing = await MonitoringRepository(session).report(
            document.model_id, document.version, key
        )
        if existing is not None:
            return RevalidationRun(
                str(existing.id), f"{existing.model_id} {existing.model_version}",
                existing.recent_size, existing.matured_size, existing.score_psi,
                tuple(existing.alerts), repeated=True,
            )  # fmt: skip
    features = {entry.name: entry for entry in document.features}
    recent_bins = {name: [0] * len(entry.bins) for name, entry in features.items()}
    recent_grades: Counter[str] = Counter()
    recent = 0
    cursor: tuple[datetime, str] | None = None
    while True:  # the window's decisions, a batch at a time (features decoded, not kept)
        async with sessions.unit_of_work() as session:
            with tenant_bypass(session, "servicing.monitoring.decisions"):
                rows = await MonitoringRepository(session).decisions(
                    document.model_id, document.version, start, now, after=cursor, limit=_BATCH
                )
        if not rows:
            break
        for decided_at, decision_id, grade, record in rows:
            recent_grades[grade] += 1
            values = _RECORD.decode(record).snapshot.inputs.features
            for name, entry in features.items():
                recent_bins[name][bin_index(entry, values.get(name))] += 1
            cursor = (decided_at, decision_id)
        recent += len(rows)
        if progress is not None:
            progress(recent, None)
    async with sessions.unit_of_work() as session:
        with tenant_bypass(session, "servicing.monitoring.outcomes"):
            outcomes = await MonitoringRepository(session).matured_outcomes(
                document.model_id,
                document.version,
                now - timedelta(days=outcome_window_days),
                now,
                BAD_DPD,
                BAD_CLASSES,
            )

    feature_psi = {
        name: value
        for name, entry in sorted(features.items())
        if (value := _psi([b.count for b in entry.bins], recent_bins[name])) is not None
    }
    dev_grades = _development_grades(document)
    grade_names = [g.grade for g in document.master_scale.grades]
    score_psi = (
        _psi([dev_grades.get(g, 0) for g in grade_names], [recent_grades[g] for g in grade_names])
        if dev_grades and recent
        else None
    )
    labels = np.array([bad for _, _, bad in outcomes], dtype=np.int8)
    scores = np.array([score for score, _, _ in outcomes], dtype=np.float64)
    ks_value = auc_value = None
    if 0 < int(labels.sum()) < labels.shape[0]:
        ks_value, auc_value = ks(labels, -scores), auc(labels, -scores)  # high score = low risk
    bad_rates: dict[str, tuple[int, float]] = {}
    for grade in grade_names:
        members = [bad for _, g, bad in outcomes if g == grade]
        if members:
            bad_rates[grade] = (len(members), sum(members) / len(members))
    alerts = [f"score PSI {score_psi:.3f}"] if (score_psi or 0) > PSI_ALERT_THRESHOLD else []
    alerts += [f"{n} PSI {v:.3f}" for n, v in feature_psi.items() if v > PSI_ALERT_THRESHOLD]
    total_dev = sum(dev_grades.values())
    report = MonitoringReport(
        model=f"{document.model_id} {document.version}",
        generated_at=utcnow(),
        development_size=document.training_data.rows,
        recent_size=recent,
        score_psi=score_psi,
        feature_psi=feature_psi,
        ks=ks_value,
        auc=auc_value,
        bad_rate_by_grade=bad_rates,
        alerts=tuple(alerts),
        grade_shares={
            g: (
                dev_grades.get(g, 0) / total_dev if total_dev else 0.0,
                recent_grades[g] / recent if recent else 0.0,
            )
            for g in grade_names
        },
        window=(start, now),
    )
    async with sessions.unit_of_work() as session:
        row = ModelMonitoringReport(
            model_id=document.model_id,
            model_version=document.version,
            run_key=key,
            window_start=start,
            window_end=now,
            development_size=document.training_data.rows,
            recent_size=recent,
            matured_size=len(outcomes),
            score_psi=score_psi,
            feature_psi=feature_psi,
            ks=ks_value,
            auc=auc_value,
            bad_rate_by_grade={g: {"loans": c, "bad_rate": r} for g, (c, r) in bad_rates.items()},
            alerts=list(alerts),
            html=render_html(report),
        )
        session.add(row)
        await session.flush()
        for alert in alerts:
            log.warning("model PSI alert", extra={"model": report.model, "alert": alert})
        if alerts:
            record_event(
                session,
                "model.psi_alert",
                target=f"model:{document.model_id}:{document.version}",
                reason="PSI above 0.25: re-validate the model (JR/T 0269 6.5.2 d)",
                details={"alerts": alerts, "report_id": str(row.id), "run_key": key},
            )
    return RevalidationRun(
        str(row.id), report.model, recent, len(outcomes), score_psi, tuple(alerts), repeated=False
    )
