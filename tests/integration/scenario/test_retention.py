"""Retention and destruction (JR/T 0269 6.1): expired data and data of ended consents are
destroyed, unless another active consent covers the source; every step is audited."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from connectors.personas import PersonaProfile, persona
from litestar import Litestar
from sqlalchemy import select, update
from tests.builders import member_client
from tests.scenario_builders import create_consent, create_instance, every_item, revoke_consent

from puhui.audit.models import AuditRecord
from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentPurpose, ConsentStatus
from puhui.db.session import tenant_bypass
from puhui.jobs import JobContext, run_job
from puhui.scenario.featurestore import latest_features
from puhui.scenario.jobs import enforce_retention
from puhui.scenario.models import ScenarioDataKey, ScenarioRecord

pytestmark = pytest.mark.anyio


async def _records(app: Litestar, uscc: str, source: str) -> list[ScenarioRecord]:
    async with app.state.db.unit_of_work() as session:
        stmt = select(ScenarioRecord).where(
            ScenarioRecord.uscc == uscc, ScenarioRecord.data_source == source
        )
        return list((await session.execute(stmt)).scalars())


async def _audits(app: Litestar, action: str, uscc: str) -> list[AuditRecord]:
    async with app.state.db.unit_of_work() as session:
        stmt = select(AuditRecord).where(
            AuditRecord.action == action, AuditRecord.target == f"enterprise:{uscc}"
        )
        return list((await session.execute(stmt)).scalars())


async def _end_other_consents(app: Litestar, uscc: str) -> None:
    """Consents other tests left for this persona end, so only this test's consents count."""
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.setup"):
            await session.execute(
                update(Consent)
                .where(Consent.enterprise_uscc == uscc)
                .values(status=ConsentStatus.REVOKED)
            )


async def test_ended_consent_data_is_destroyed_unless_monitoring_covers_it(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    p = persona(PersonaProfile.ARREARS)
    await _end_other_consents(app, p.uscc)
    partner, tenant, _member = await member_client(app, ["owner"])
    assessment = await create_consent(app, tenant, p.uscc, every_item("tax", "payroll"))
    for connector in ("tax", "payroll"):
        instance = await create_instance(app, tenant, connector, upstreams[connector])
        response = await partner.post(
            f"/api/v1/connector-instances/{instance.id}/syncs",
            json={"consent_id": str(assessment.id)},
        )
        assert response.json()["outcome"] == "succeeded"
    monitoring = await create_consent(
        app,
        tenant,
        p.uscc,
        {"payroll": ["payroll_months"]},
        purposes=(ConsentPurpose.POST_LOAN_MONITORING,),
    )
    payroll_held = len(await _records(app, p.uscc, "payroll"))
    await revoke_consent(app, assessment.id)

    report = await enforce_retention(app.state.db)

    assert await _records(app, p.uscc, "tax") == []
    kept = await _records(app, p.uscc, "payroll")
    assert len(kept) == payroll_held > 0
    assert {r.consent_id for r in kept} == {str(monitoring.id)}
    assert report.revoked_destroyed > 0
    assert report.kept_on_other_basis >= payroll_held
    destroyed = await _audits(app, "scenario.data_destroyed", p.uscc)
    assert any(a.details["data_source"] == "tax" for a in destroyed)
    assert await _audits(app, "scenario.data_rebased", p.uscc)
    async with app.state.db.unit_of_work() as session:
        features = await latest_features(session, p.uscc)
    assert not any(name.startswith("tax.") for name in features.values)
    assert "payroll.headcount" in features.values


async def test_records_past_their_retention_period_are_destroyed(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    p = persona(PersonaProfile.THIN_FILE)
    partner, tenant, _member = await member_client(app, ["owner"])
    consent = await create_consent(app, tenant, p.uscc, every_item("utilities"))
    instance = await create_instance(app, tenant, "utilities", upstreams["utilities"])
    await partner.post(
        f"/api/v1/connector-instances/{instance.id}/syncs", json={"consent_id": str(consent.id)}
    )
    held = await _records(app, p.uscc, "utilities")
    assert held
    assert all(r.retain_until > utcnow() + timedelta(days=365) for r in held)
    async with app.state.db.unit_of_work() as session:
        await session.execute(
            update(ScenarioRecord)
            .where(ScenarioRecord.uscc == p.uscc, ScenarioRecord.data_source == "utilities")
            .values(retain_until=utcnow() - timedelta(days=1))
        )

    seen: list[int] = []
    report = await enforce_retention(app.state.db, batch=5, progress=seen.append)

    assert await _records(app, p.uscc, "utilities") == []
    assert report.expired_destroyed >= len(held)
    assert sum(seen) >= len(held)  # the progress bar advanced by every record handled
    audits = await _audits(app, "scenario.data_destroyed", p.uscc)
    assert any(a.reason == "retention period elapsed" for a in audits)


def test_retention_runs_as_the_scheduled_job_from_the_cli(
    settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from puhui.cli import main
    from puhui.config import Settings

    assert isinstance(settings, Settings)
    monkeypatch.setenv("PUHUI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PUHUI_KEY_DIR", str(settings.key_dir))
    monkeypatch.setenv("PUHUI_ENVIRONMENT", "test")
    listed = CliRunner().invoke(main, ["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    assert "scenario.retention" in listed.output
    result = CliRunner().invoke(main, ["jobs", "run", "scenario.retention"])
    assert result.exit_code == 0, result.output
    assert "scenario.retention" in result.output
    assert "retention" not in main.commands["jobs"].commands  # type: ignore[attr-defined]


async def test_the_scheduled_job_destroys_expired_records_and_their_data_keys(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    p = persona(PersonaProfile.SUSPICIOUS)
    partner, tenant, _member = await member_client(app, ["owner"])
    consent = await create_consent(app, tenant, p.uscc, every_item("tax"))
    instance = await create_instance(app, tenant, "tax", upstreams["tax"])
    response = await partner.post(
        f"/api/v1/connector-instances/{instance.id}/syncs", json={"consent_id": str(consent.id)}
    )
    assert response.status_code == 201, response.text
    held = await _records(app, p.uscc, "tax")
    key_ids = {r.data_key_id for r in held if r.data_key_id is not None}
    assert key_ids  # tax streams hold C2 fields: sealed under batch keys
    async with app.state.db.unit_of_work() as session:
        await session.execute(
            update(ScenarioRecord)
            .where(ScenarioRecord.uscc == p.uscc, ScenarioRecord.data_source == "tax")
            .values(retain_until=utcnow() - timedelta(days=1))
        )
    progress: list[tuple[int, int | None]] = []
    context = JobContext(
        settings=app.state.settings,
        db=app.state.db,
        progress=lambda done, total: progress.append((done, total)),
    )

    result = await run_job("scenario.retention", context)

    assert result is not None
    assert result.outcome == "ok", result.error
    assert result.handled >= len(held)
    assert progress
    assert progress[-1][0] >= len(held)
    assert await _records(app, p.uscc, "tax") == []
    async with app.state.db.unit_of_work() as session:
        left = await session.execute(
            select(ScenarioDataKey.id).where(ScenarioDataKey.id.in_(key_ids))
        )
        assert left.all() == []  # nothing sealed under them remains: the keys are destroyed
    again = await run_job("scenario.retention", context)  # safe to run twice
    assert again is not None
    assert again.outcome == "ok"
