"""Scenario syncs over real HTTP: every connector, every persona, provenance, idempotent reruns."""

from __future__ import annotations

import uuid

import httpx
import pytest
from connectors.personas import PERSONAS, PersonaProfile, persona
from litestar import Litestar
from sqlalchemy import func, select
from tests.builders import member_client
from tests.scenario_builders import CONNECTORS, create_consent, every_item

from puhui.scenario.hosted import hosted_connector
from puhui.scenario.models import ConnectorInstance, ScenarioRecord, SyncCursor
from puhui.scenario.sandbox import sandbox_config
from puhui.scenario.store import field_classes, stored_field_classes
from puhui.tenancy.models import TenantKind

pytestmark = pytest.mark.anyio


async def _records(app: Litestar, uscc: str, source: str) -> list[ScenarioRecord]:
    async with app.state.db.unit_of_work() as session:
        stmt = select(ScenarioRecord).where(
            ScenarioRecord.uscc == uscc, ScenarioRecord.data_source == source
        )
        return list((await session.execute(stmt)).scalars())


async def _field_classes(
    app: Litestar, schemas: set[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, str] | None]:
    async with app.state.db.unit_of_work() as session:
        return {s: await stored_field_classes(session, *s) for s in schemas}


async def _create_instance(
    partner: httpx.AsyncClient, connector: str, base_url: str, **extra: object
) -> dict[str, object]:
    config = sandbox_config(connector, base_url) | extra
    response = await partner.post(
        "/api/v1/connector-instances",
        json={"name": f"{connector}-main", "connector": connector, "config": config},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_instance_secrets_are_sealed_and_never_shown(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, _tenant, _member = await member_client(app, ["developer"])
    created = await _create_instance(partner, "tax", upstreams["tax"])
    secret = sandbox_config("tax", upstreams["tax"])["access_token"]
    assert "access_token" not in created["config"]  # type: ignore[operator]
    assert created["secret_fields_set"] == ["access_token"]
    fetched = await partner.get(f"/api/v1/connector-instances/{created['id']}")
    listed = await partner.get("/api/v1/connector-instances")
    for response in (fetched, listed):
        assert response.status_code == 200
        assert secret not in response.text
    async with app.state.db.unit_of_work() as session:
        from puhui.db.session import tenant_bypass

        with tenant_bypass(session, reason="test.inspect"):
            row = await session.get(ConnectorInstance, uuid.UUID(str(created["id"])))
    assert row is not None
    assert row.secrets_enc is not None
    assert secret not in row.secrets_enc
    assert secret not in str(row.config)


async def test_bad_config_and_unknown_connector_are_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner, _tenant, _member = await member_client(app, ["owner"])
    missing_secret = await partner.post(
        "/api/v1/connector-instances",
        json={"name": "tax-x", "connector": "tax", "config": {"base_url": "http://127.0.0.1:1"}},
    )
    unknown = await partner.post(
        "/api/v1/connector-instances",
        json={"name": "nope-x", "connector": "nosuch", "config": {}},
    )
    assert missing_secret.status_code == 422
    assert unknown.status_code == 422


async def test_viewer_cannot_configure_or_sync(app: Litestar, client: httpx.AsyncClient) -> None:
    viewer, _tenant, _member = await member_client(app, ["viewer"])
    response = await viewer.post(
        "/api/v1/connector-instances",
        json={"name": "tax-v", "connector": "tax", "config": {}},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("connector", CONNECTORS)
async def test_every_persona_syncs_with_provenance_and_reruns_add_nothing(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str], connector: str
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    instance = await _create_instance(partner, connector, upstreams[connector])
    for p in PERSONAS:
        consent = await create_consent(app, tenant, p.uscc, every_item(connector))
        url = f"/api/v1/connector-instances/{instance['id']}/syncs"
        first = await partner.post(url, json={"consent_id": str(consent.id)})
        assert first.status_code == 201, first.text
        run = first.json()
        assert run["outcome"] == "succeeded", run
        assert run["uscc"] == p.uscc
        # The store is the bank's, per enterprise: other tests may have stored these rows before.
        stored = [
            r for r in await _records(app, p.uscc, connector) if r.consent_id == str(consent.id)
        ]
        held = run["records_inserted"] + run["records_updated"] + run["records_unchanged"]
        assert len(stored) == held <= run["records_in"]
        if p.profile is not PersonaProfile.THIN_FILE:
            assert held > 0
        for record in stored:
            # JR/T 0269 6.3.2 c: source, channel, object, type; plus consent and schema version.
            assert record.data_source == connector
            assert record.collection_channel == "pull_api"
            assert record.collection_object == p.uscc
            assert record.data_type.startswith(f"{connector}.")
            assert record.schema_version >= 1
        # 6.2.2: the data-element classes of every stored record's fields, once per schema.
        classes = await _field_classes(app, {(r.data_type, r.schema_version) for r in stored})
        for (data_type, _version), found in classes.items():
            stream = data_type.split(".", 1)[1]
            assert found == field_classes(hosted_connector(connector).binding(stream).spec)
        # A rerun from the stored cursor fetches nothing new and duplicates nothing.
        again = (await partner.post(url, json={"consent_id": str(consent.id)})).json()
        assert again["outcome"] == "succeeded"
        assert again["records_inserted"] == again["records_updated"] == 0
        total = len(await _records(app, p.uscc, connector))
        assert total == len({r.natural_key for r in await _records(app, p.uscc, connector)})


async def test_a_reread_from_scratch_updates_in_place(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    p = persona(PersonaProfile.DECLINING)
    consent = await create_consent(app, tenant, p.uscc, every_item("utilities"))
    first = await _create_instance(partner, "utilities", upstreams["utilities"])
    run = (
        await partner.post(
            f"/api/v1/connector-instances/{first['id']}/syncs", json={"consent_id": str(consent.id)}
        )
    ).json()
    second = await partner.post(
        "/api/v1/connector-instances",
        json={
            "name": "utilities-second",
            "connector": "utilities",
            "config": sandbox_config("utilities", upstreams["utilities"]),
        },
    )
    rerun = (
        await partner.post(
            f"/api/v1/connector-instances/{second.json()['id']}/syncs",
            json={"consent_id": str(consent.id)},
        )
    ).json()
    # A second instance has no cursor: it reads everything again, and every row is already there.
    assert rerun["records_in"] == run["records_in"] > 0
    assert rerun["records_inserted"] == rerun["records_updated"] == 0
    held = run["records_inserted"] + run["records_updated"] + run["records_unchanged"]
    assert rerun["records_unchanged"] == held
    async with app.state.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ScenarioRecord)
            .where(ScenarioRecord.uscc == p.uscc, ScenarioRecord.data_source == "utilities")
        )
    assert count == held


async def test_quality_reports_show_the_dirt_of_the_upstream(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    p = persona(PersonaProfile.ARREARS)
    instance = await _create_instance(partner, "tax", upstreams["tax"])
    consent = await create_consent(app, tenant, p.uscc, every_item("tax"))
    run = (
        await partner.post(
            f"/api/v1/connector-instances/{instance['id']}/syncs",
            json={"consent_id": str(consent.id)},
        )
    ).json()
    runs = await partner.get(f"/api/v1/connector-instances/{instance['id']}/syncs")
    assert [r["id"] for r in runs.json()] == [run["id"]]
    quality = await partner.get(
        f"/api/v1/connector-instances/{instance['id']}/syncs/{run['id']}/quality"
    )
    assert quality.status_code == 200
    vat = next(q for q in quality.json() if q["stream"] == "vat_returns")
    # The bureau re-sends one return (a duplicate) and one lost its revenue figure (rejected).
    assert vat["duplicates_removed"] >= 1
    assert vat["rows_rejected"] >= 1
    assert vat["rejection_reasons"]
    assert vat["rows_in"] == vat["rows_accepted"] + vat["rows_rejected"] + vat["duplicates_removed"]


async def test_consent_missing_an_item_fetches_nothing_of_that_stream(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    p = persona(PersonaProfile.HEALTHY)
    instance = await _create_instance(partner, "tax", upstreams["tax"])
    consent = await create_consent(app, tenant, p.uscc, {"tax": ["vat_returns"]})
    run = (
        await partner.post(
            f"/api/v1/connector-instances/{instance['id']}/syncs",
            json={"consent_id": str(consent.id)},
        )
    ).json()
    assert run["outcome"] == "partial"
    mine = [r for r in await _records(app, p.uscc, "tax") if r.consent_id == str(consent.id)]
    assert {r.data_type for r in mine} == {"tax.vat_returns"}
    assert {e["kind"] for e in run["errors"]} == {"ConsentDenied"}


async def test_someone_elses_or_an_unknown_consent_is_refused(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, _tenant, _member = await member_client(app, ["owner"])
    _other, other_tenant, _m = await member_client(app, ["owner"])
    p = persona(PersonaProfile.HEALTHY)
    theirs = await create_consent(app, other_tenant, p.uscc, every_item("tax"))
    instance = await _create_instance(partner, "tax", upstreams["tax"])
    url = f"/api/v1/connector-instances/{instance['id']}/syncs"
    refused = await partner.post(url, json={"consent_id": str(theirs.id)})
    unknown = await partner.post(url, json={"consent_id": "9f0e4c1e-3a57-4f7e-9d51-1f0c3b0c7e11"})
    assert refused.status_code == unknown.status_code == 403
    assert refused.json()["type"] == unknown.json()["type"]
    assert all(r.consent_id != str(theirs.id) for r in await _records(app, p.uscc, "tax"))


async def test_operators_see_features_and_their_staleness(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    risk, _bank, _officer = await member_client(app, ["risk_officer"], kind=TenantKind.BANK)
    p = persona(PersonaProfile.HEALTHY)
    for connector in ("tax", "payroll"):
        instance = await _create_instance(partner, connector, upstreams[connector])
        consent = await create_consent(app, tenant, p.uscc, every_item(connector))
        await partner.post(
            f"/api/v1/connector-instances/{instance['id']}/syncs",
            json={"consent_id": str(consent.id)},
        )
    response = await risk.get(f"/api/v1/operator/enterprises/{p.uscc}/features")
    assert response.status_code == 200, response.text
    body = response.json()
    values = {f["name"]: f for f in body["features"]}
    assert values["tax.credit_grade"]["value"] == "A"
    assert values["payroll.headcount"]["value"] == p.headcount_end
    vat = [r for r in await _records(app, p.uscc, "tax") if r.data_type == "tax.vat_returns"]
    assert values["tax.declared_revenue_12m_fen"]["source_records"] == len(vat) >= 12
    ages = body["staleness_s_by_source"]
    assert ages["tax"] < 60
    assert ages["payroll"] < 60
    partner_view = await partner.get(f"/api/v1/operator/enterprises/{p.uscc}/features")
    bad = await risk.get("/api/v1/operator/enterprises/NOT-A-USCC/features")
    wrong_check_digit = await risk.get(f"/api/v1/operator/enterprises/{p.uscc[:-1]}0/features")
    assert partner_view.status_code == 403
    assert bad.status_code == 422
    assert wrong_check_digit.status_code == 404


async def test_cursor_rows_are_per_instance_stream_and_enterprise(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    p = persona(PersonaProfile.THIN_FILE)
    instance = await _create_instance(partner, "payroll", upstreams["payroll"])
    consent = await create_consent(app, tenant, p.uscc, every_item("payroll"))
    await partner.post(
        f"/api/v1/connector-instances/{instance['id']}/syncs", json={"consent_id": str(consent.id)}
    )
    async with app.state.db.unit_of_work(tenant.id) as session:
        cursors = (await session.execute(select(SyncCursor))).scalars().all()
    assert {(c.stream, c.uscc) for c in cursors} == {
        ("payroll_months", p.uscc),
        ("social_insurance", p.uscc),
    }
