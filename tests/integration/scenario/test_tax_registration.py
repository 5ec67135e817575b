"""The tax connector's registration stream is the authority the application-time identity check
(JR/T 0269 9.6) compares names with: synced over HTTP from the simulator, then read by risk."""

from __future__ import annotations

import httpx
import pytest
from connectors.personas import PERSONAS
from litestar import Litestar
from tests.builders import member_client
from tests.scenario_builders import create_consent, every_item

from puhui.db.session import tenant_bypass
from puhui.risk.identity import identity_facts, stored_identity
from puhui.scenario.sandbox import sandbox_config

pytestmark = pytest.mark.anyio


async def test_synced_registration_names_the_enterprise_and_its_representative(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    partner, tenant, _member = await member_client(app, ["owner"])
    created = await partner.post(
        "/api/v1/connector-instances",
        json={
            "name": "tax-registry",
            "connector": "tax",
            "config": sandbox_config("tax", upstreams["tax"]),
        },
    )
    assert created.status_code == 201, created.text
    p = PERSONAS[0]
    consent = await create_consent(app, tenant, p.uscc, every_item("tax"))
    assert "tax_registration" in every_item("tax")["tax"]
    run = await partner.post(
        f"/api/v1/connector-instances/{created.json()['id']}/syncs",
        json={"consent_id": str(consent.id)},
    )
    assert run.status_code == 201, run.text
    assert run.json()["outcome"] == "succeeded", run.json()

    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.identity"):
            evidence = await stored_identity(session, p.uscc)
    # The bureau spells the name with half-width parentheses and stray spaces; cleaning trims.
    assert evidence.tax_registered_name is not None
    assert evidence.tax_registered_name.strip() == evidence.tax_registered_name
    assert evidence.legal_rep_name == p.legal_representative

    same = identity_facts(evidence, enterprise_name=p.name, legal_rep_name=p.legal_representative)
    assert same.enterprise_name_matches_registration is True
    assert same.legal_rep_matches_registration is True
    other = identity_facts(evidence, enterprise_name="某某贸易有限公司", legal_rep_name="赵六")
    assert other.enterprise_name_matches_registration is False
    assert other.legal_rep_matches_registration is False
