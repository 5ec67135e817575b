"""Model monitoring from stored data: decisions in the database against the model's development
sample; a seeded drift raises PSI alerts, a stable population does not."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import insert, select, update
from tests.builders import create_tenant
from tests.lending_builders import lending_ready, new_uscc
from tests.servicing_builders import open_sandbox_loan

from puhui.audit.models import AuditRecord
from puhui.db.session import tenant_bypass
from puhui.jobs import JobContext, run_job
from puhui.lending.models import Application, ApplicationStatus
from puhui.risk.models import CreditDecision
from puhui.risk.registry import ModelRegistry
from puhui.risk.scorecard.document import FeatureEntry, ModelDocument
from puhui.servicing.models import LoanStatus, ModelMonitoringReport
from puhui.servicing.repository import LoanRepository
from puhui.servicing.revalidation import bin_index, run_revalidation
from puhui.tenancy.models import Tenant

pytestmark = pytest.mark.anyio


def value_in(entry: FeatureEntry, index: int) -> Any:
    """A feature value the scorecard puts in bin ``index``."""
    chosen = entry.bins[index]
    if chosen.is_missing:
        value: Any = None
    elif entry.kind == "categorical":
        value = chosen.categories[0] if chosen.categories else "__never_seen__"
    elif chosen.upper is not None:
        value = chosen.upper
    else:
        value = (chosen.lower or 0.0) + 1.0
    assert bin_index(entry, value) == index, (entry.name, index, value)
    return value


def grade_rows(document: ModelDocument) -> list[tuple[str, int]]:
    return [(row["grade"], row["rows"]) for row in document.metrics["grades"]["train"]]


async def seed_decisions(
    app: Litestar,
    tenant: Tenant,
    document: ModelDocument,
    rows: list[tuple[dict[str, Any], str, int]],
    decided_at: datetime,
) -> list[uuid.UUID]:
    """Applications and the decisions the active model made on them (features, grade, score)."""
    application_ids = [uuid.uuid4() for _ in rows]
    now = decided_at
    async with app.state.db.unit_of_work(tenant.id) as session:
        await session.execute(
            insert(Application),
            [
                {
                    "id": application_id, "tenant_id": tenant.id, "uscc": new_uscc(),
                    "enterprise_name": "监测样本企业", "legal_rep_name": "王五",
                    "purpose": "working_capital", "amount_fen": 100_000_00, "term_months": 12,
                    "repayment_method": "equal_instalment", "product_code": "TAX-LOAN",
                    "product_version": 1, "contact_name": "王五",
                    "status": ApplicationStatus.APPROVED, "missing_sources": [],
                    "expires_at": now + timedelta(days=30), "created_at": now, "updated_at": now,
                }
                for application_id in application_ids
            ],
        )  # fmt: skip
        await session.execute(
            insert(CreditDecision),
            [
                {
                    "tenant_id": tenant.id, "application_id": application_id, "uscc": "x" * 18,
                    "product_code": "TAX-LOAN", "product_version": "1", "route": "auto_approve",
                    "grade": grade, "score": score, "limit_fen": 100_000_00,
                    "annual_rate": "0.06", "ruleset_id": "baseline", "ruleset_version": "1",
                    "model_id": document.model_id, "model_version": document.version,
                    "input_hash": "0" * 64, "record_hash": "0" * 64,
                    "decided_at": decided_at + timedelta(minutes=n),
                    "record": json.dumps({"snapshot": {"inputs": {"features": features}}}),
                    "created_at": now, "updated_at": now,
                }
                for n, (application_id, (features, grade, score)) in enumerate(
                    zip(application_ids, rows, strict=True)
                )
            ],
        )  # fmt: skip
    return application_ids


def population(
    document: ModelDocument, rng: random.Random, n: int, *, drift: bool
) -> list[tuple[dict[str, Any], str, int]]:
    """Applicants drawn from the development distribution, or drifted: the first feature all in
    its rarest bin and every applicant in the worst grade."""
    grades = grade_rows(document)
    names = [g for g, _ in grades]
    shifted = document.features[0]
    rarest = min(range(len(shifted.bins)), key=lambda i: shifted.bins[i].count)
    out = []
    for _ in range(n):
        features = {}
        for entry in document.features:
            if drift and entry is shifted:
                index = rarest
            else:
                index = rng.choices(range(len(entry.bins)), [b.count for b in entry.bins])[0]
            features[entry.name] = value_in(entry, index)
        grade = names[-1] if drift else rng.choices(names, [max(c, 0) for _, c in grades])[0]
        score = 800 - 40 * names.index(grade) + rng.randrange(-15, 16)
        out.append((features, grade, score))
    return out


async def test_psi_alerts_follow_a_seeded_drift_and_outcomes_give_ks_auc(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await lending_ready(app)
    async with app.state.db.unit_of_work() as session:
        document = (await ModelRegistry(session).active_scorer()).model.document
    tenant = await create_tenant(app)
    rng = random.Random(20350601)
    tag = uuid.uuid4().hex[:8]
    stable_at = datetime(2035, 6, 1, tzinfo=UTC)

    # Recent applications like the development sample; older ones whose loans have matured.
    await seed_decisions(
        app, tenant, document, population(document, rng, 800, drift=False),
        stable_at - timedelta(days=20),
    )  # fmt: skip
    names = [g for g, _ in grade_rows(document)]
    matured = [
        ({}, names[i % len(names)], 800 - 40 * (i % len(names)) + rng.randrange(-15, 16))
        for i in range(60)
    ]
    for_outcomes = await seed_decisions(
        app, tenant, document, matured, stable_at - timedelta(days=400)
    )
    for application_id, (_, grade, _) in zip(for_outcomes, matured, strict=True):
        loan = await open_sandbox_loan(
            app, tenant, application_id=application_id, customer_id=uuid.uuid4(),
            start_date=date(2034, 5, 1), term_months=6, enterprise_uscc=new_uscc(),
        )  # fmt: skip
        worse = names.index(grade) >= len(names) // 2
        bad = rng.random() < (0.6 if worse else 0.05)
        async with app.state.db.unit_of_work(tenant.id) as session:
            await session.execute(
                update(LoanRepository.model)
                .where(LoanRepository.model.id == loan.id)
                .values(
                    status=LoanStatus.ACTIVE if bad else LoanStatus.SETTLED,
                    disbursed_at=datetime(2034, 5, 1, tzinfo=UTC),
                    dpd=120 if bad else 0,
                    loan_class="substandard" if bad else "normal",
                )
            )

    stable = await run_revalidation(
        app.state.db, as_of=stable_at, window_days=30, run_key=f"stable-{tag}"
    )
    assert stable.recent == 800
    assert stable.alerts == ()
    assert stable.score_psi is not None
    assert stable.score_psi < 0.1
    assert stable.matured == 60
    repeated = await run_revalidation(
        app.state.db, as_of=stable_at, window_days=30, run_key=f"stable-{tag}"
    )
    assert repeated.repeated is True
    assert repeated.report_id == stable.report_id

    drift_at = datetime(2036, 6, 1, tzinfo=UTC)
    await seed_decisions(
        app, tenant, document, population(document, rng, 400, drift=True),
        drift_at - timedelta(days=10),
    )  # fmt: skip
    drifted = await run_revalidation(
        app.state.db, as_of=drift_at, window_days=30, run_key=f"drift-{tag}"
    )
    assert drifted.recent == 400
    assert any(a.startswith("score PSI") for a in drifted.alerts), drifted.alerts
    assert any(a.startswith(f"{document.features[0].name} PSI") for a in drifted.alerts)
    assert not any(a.startswith(f"{document.features[1].name} PSI") for a in drifted.alerts)

    async with app.state.db.unit_of_work() as session:
        reports = {
            r.run_key: r
            for r in (
                await session.execute(
                    select(ModelMonitoringReport).where(
                        ModelMonitoringReport.run_key.in_([f"stable-{tag}", f"drift-{tag}"])
                    )
                )
            ).scalars()
        }
        with tenant_bypass(session, "test"):
            alerted = (
                (
                    await session.execute(
                        select(AuditRecord).where(AuditRecord.action == "model.psi_alert")
                    )
                )
                .scalars()
                .all()
            )
    assert set(reports) == {f"stable-{tag}", f"drift-{tag}"}
    kept = reports[f"stable-{tag}"]
    assert kept.ks is not None
    assert kept.auc is not None
    assert kept.auc > 0.7  # worse grades went bad more often: the model still ranks risk
    rates = kept.bad_rate_by_grade
    assert rates[names[-1]]["bad_rate"] > rates[names[0]]["bad_rate"]
    assert "<svg" in kept.html
    assert "<script" not in kept.html
    assert reports[f"drift-{tag}"].alerts == list(drifted.alerts)
    assert "score PSI" in reports[f"drift-{tag}"].html
    assert any(e.details.get("run_key") == f"drift-{tag}" for e in alerted)


async def test_the_monitoring_job_runs_from_the_scheduler_registry(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await lending_ready(app)
    ctx = JobContext(settings=app.state.settings, db=app.state.db)
    first = await run_job("servicing.monitoring", ctx)
    second = await run_job("servicing.monitoring", ctx)
    assert first is not None
    assert second is not None
    assert (first.outcome, first.error) == ("ok", None)
    assert second.outcome == "ok"
    async with app.state.db.unit_of_work() as session:
        today = (
            (
                await session.execute(
                    select(ModelMonitoringReport).where(
                        ModelMonitoringReport.run_key == datetime.now(UTC).date().isoformat()
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(today) == 1  # the second run of the day found the first one's report
