"""Push and bulk-file collection: the same normalisers and consent gate as a pull (7.3.2 c)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import msgspec
import pytest
from connectors import bulk
from connectors.payroll.simulator import upstream_table as payroll_table
from connectors.personas import PersonaProfile, persona
from connectors.tax.simulator import upstream_table as tax_table
from litestar import Litestar
from sqlalchemy import select
from tests.builders import member_client
from tests.scenario_builders import create_consent, every_item, push_caller
from tests.security_builders import SignedCaller

from puhui.db.session import tenant_bypass
from puhui.scenario.models import ScenarioRecord, SyncRun
from puhui.scenario.sandbox import sandbox_config

pytestmark = pytest.mark.anyio
HEALTHY = persona(PersonaProfile.HEALTHY)
DECLINING = persona(PersonaProfile.DECLINING)
_AS_NUMBERS = msgspec.json.Encoder(decimal_format="number")


def _raw(rows: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k != "_key"} for r in rows]


async def _instance(partner: httpx.AsyncClient, connector: str) -> str:
    response = await partner.post(
        "/api/v1/connector-instances",
        json={
            "name": f"{connector}-files",
            "connector": connector,
            "config": sandbox_config(connector, "http://127.0.0.1:9"),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _by_consent(app: Litestar, consent_id: str) -> list[ScenarioRecord]:
    async with app.state.db.unit_of_work() as session:
        stmt = select(ScenarioRecord).where(ScenarioRecord.consent_id == consent_id)
        return list((await session.execute(stmt)).scalars())


def _push_body(consent_id: object, stream: str, items: list[dict[str, object]]) -> dict[str, Any]:
    # Decimal amounts go out as JSON numbers, as a partner's SDK sends them.
    body = {"consent_id": str(consent_id), "stream": stream, "items": items}
    decoded: dict[str, Any] = msgspec.json.decode(_AS_NUMBERS.encode(body))
    return decoded


async def test_a_signed_push_is_normalised_and_stored_with_its_channel(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner, tenant, _member = await member_client(app, ["developer"])
    instance = await _instance(partner, "payroll")
    webhook = await push_caller(app, tenant)
    consent = await create_consent(app, tenant, HEALTHY.uscc, every_item("payroll"))
    mine = _raw(payroll_table()["payroll-months"][HEALTHY.uscc])
    foreign = _raw(payroll_table()["payroll-months"][DECLINING.uscc])[:2]
    body = _push_body(consent.id, "payroll_months", mine + foreign)
    response = await webhook.call("POST", f"/api/v1/connector-instances/{instance}/pushes", body)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["channel"] == "push_webhook"
    assert run["outcome"] == "succeeded"
    stored = await _by_consent(app, str(consent.id))
    assert len(stored) == HEALTHY.months_of_history
    assert {r.collection_channel for r in stored} == {"push_webhook"}
    assert {r.uscc for r in stored} == {HEALTHY.uscc}  # rows about others are never taken
    quality = await partner.get(f"/api/v1/connector-instances/{instance}/syncs/{run['id']}/quality")
    report = quality.json()[0]
    assert report["rejection_reasons"]["foreign_subject"] == 2
    assert report["duplicates_removed"] >= 1


async def _push_setup(app: Litestar) -> tuple[SignedCaller, str, str, dict[str, Any]]:
    partner, tenant, _member = await member_client(app, ["developer"])
    instance = await _instance(partner, "payroll")
    consent = await create_consent(app, tenant, HEALTHY.uscc, every_item("payroll"))
    items = _raw(payroll_table()["payroll-months"][HEALTHY.uscc])[:3]
    body = _push_body(consent.id, "payroll_months", items)
    return await push_caller(app, tenant), instance, str(consent.id), body


async def _runs(app: Litestar, instance: str) -> list[SyncRun]:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.runs"):
            stmt = select(SyncRun).where(SyncRun.instance_id == uuid.UUID(instance))
            return list((await session.execute(stmt)).scalars())


async def test_an_unsigned_push_is_refused_and_nothing_is_stored(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    webhook, instance, consent_id, body = await _push_setup(app)
    response = await webhook.http.post(
        f"/api/v1/connector-instances/{instance}/pushes",
        json=body,
        headers={"authorization": f"Bearer {webhook.token}"},
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/signature-invalid")
    assert await _by_consent(app, consent_id) == []
    assert await _runs(app, instance) == []


async def test_a_push_whose_body_was_tampered_with_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    webhook, instance, consent_id, body = await _push_setup(app)
    forged = dict(body, items=[dict(body["items"][0], gross_pay="9999999")])
    response = await webhook.call(
        "POST",
        f"/api/v1/connector-instances/{instance}/pushes",
        body,
        tamper=msgspec.json.encode(forged),
    )
    assert response.status_code == 401
    assert response.json()["type"].endswith("/signature-invalid")
    assert await _by_consent(app, consent_id) == []
    assert await _runs(app, instance) == []


async def test_a_replayed_push_is_refused_and_stored_once(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    webhook, instance, consent_id, body = await _push_setup(app)
    path = f"/api/v1/connector-instances/{instance}/pushes"
    first = await webhook.call("POST", path, body, nonce="push-nonce-1")
    assert first.status_code == 201, first.text
    stored = await _by_consent(app, consent_id)
    replay = await webhook.call("POST", path, body, nonce="push-nonce-1")
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/replay-detected")
    assert len(await _runs(app, instance)) == 1
    assert [r.id for r in await _by_consent(app, consent_id)] == [r.id for r in stored]


async def test_a_portal_session_cannot_push(app: Litestar, client: httpx.AsyncClient) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    instance = await _instance(partner, "payroll")
    consent = await create_consent(app, tenant, HEALTHY.uscc, every_item("payroll"))
    body = {"consent_id": str(consent.id), "stream": "payroll_months", "items": []}
    response = await partner.post(f"/api/v1/connector-instances/{instance}/pushes", json=body)
    assert response.status_code == 403
    assert await _runs(app, instance) == []


async def test_a_push_without_consent_for_the_stream_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    instance = await _instance(partner, "payroll")
    webhook = await push_caller(app, tenant)
    consent = await create_consent(app, tenant, HEALTHY.uscc, {"payroll": ["social_insurance"]})
    body = {"consent_id": str(consent.id), "stream": "payroll_months", "items": [{}]}
    response = await webhook.call("POST", f"/api/v1/connector-instances/{instance}/pushes", body)
    assert response.status_code == 403
    assert await _by_consent(app, str(consent.id)) == []


async def test_a_push_under_another_partners_consent_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    instance = await _instance(partner, "payroll")
    webhook = await push_caller(app, tenant)
    _other, other_tenant, _m = await member_client(app, ["owner"])
    theirs = await create_consent(app, other_tenant, HEALTHY.uscc, every_item("payroll"))
    items = _raw(payroll_table()["payroll-months"][HEALTHY.uscc])[:2]
    body = _push_body(theirs.id, "payroll_months", items)
    response = await webhook.call("POST", f"/api/v1/connector-instances/{instance}/pushes", body)
    assert response.status_code == 403
    assert await _by_consent(app, str(theirs.id)) == []


async def test_a_connector_without_push_mode_refuses_pushes(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    instance = await _instance(partner, "tax")
    webhook = await push_caller(app, tenant)
    consent = await create_consent(app, tenant, HEALTHY.uscc, every_item("tax"))
    body = {"consent_id": str(consent.id), "stream": "vat_returns", "items": []}
    response = await webhook.call("POST", f"/api/v1/connector-instances/{instance}/pushes", body)
    assert response.status_code == 409


@pytest.mark.parametrize("in_worker", [False, True], ids=["inline", "worker"])
async def test_a_bulk_file_keeps_only_rows_under_a_named_consent(
    app: Litestar, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, in_worker: bool
) -> None:
    # Worker: the file is normalised in the worker process however small (a large file's path).
    monkeypatch.setattr(bulk, "PARALLEL_FROM_ROWS", 1 if in_worker else 10**9)
    partner, tenant, _member = await member_client(app, ["owner"])
    instance = await _instance(partner, "tax")
    consent = await create_consent(app, tenant, HEALTHY.uscc, every_item("tax"))
    rows = _raw(tax_table()["vat-returns"][HEALTHY.uscc]) + _raw(
        tax_table()["vat-returns"][DECLINING.uscc]
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    response = await partner.post(
        f"/api/v1/connector-instances/{instance}/imports",
        json={
            "stream": "vat_returns",
            "format": "csv",
            "consent_ids": [str(consent.id)],
            "content": out.getvalue(),
        },
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["channel"] == "bulk_file"
    stored = await _by_consent(app, str(consent.id))
    assert {r.uscc for r in stored} == {HEALTHY.uscc}
    assert {r.collection_channel for r in stored} == {"bulk_file"}
    assert len(stored) == HEALTHY.months_of_history
    quality = await partner.get(f"/api/v1/connector-instances/{instance}/syncs/{run['id']}/quality")
    assert quality.json()[0]["rejection_reasons"]["no_consent"] == DECLINING.months_of_history
    assert quality.json()[0]["rows_in"] == len(rows)
    assert run["records_in"] == HEALTHY.months_of_history
