"""An operator publishes a new rule-set version: new decisions use it, old ones replay exactly."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from tests.lending_builders import (
    HEALTHY,
    application_body,
    apply_and_submit,
    consented_caller,
    decision_record,
    lending_partner,
    new_uscc,
    risk_officer,
    store_features,
)

from puhui.clock import utcnow
from puhui.risk.rulesets import DEFAULT_RULESET_FILE

pytestmark = pytest.mark.anyio

# Unpaid tax of exactly this many fen marks this test's enterprise; the baseline refers any
# arrears (BEH-003), the new version also declines this exact amount, so other tests sharing the
# database decide exactly as under the baseline.
MARKER_FEN = 7_654_321


def next_version() -> dict[str, object]:
    document: dict[str, object] = json.loads(DEFAULT_RULESET_FILE.read_text())
    rules = list(document["rules"])  # type: ignore[call-overload]
    rules.append(
        {
            "id": "TST-001",
            "category": "behaviour",
            "action": "decline",
            "reason_code": "TST_MARKED_ARREARS",
            "description": "test marker",
            "when": {"field": "tax_arrears_fen", "op": "==", "value": MARKER_FEN},
            "reason": {"zh": "企业存在欠缴税款。", "en": "The enterprise has unpaid tax."},
        }
    )
    document["rules"] = rules
    document["version"] = f"2026.9.{uuid.uuid4().hex[:8]}"
    document["effective_from"] = (utcnow() - timedelta(seconds=1)).isoformat()
    return document


async def test_new_version_decides_new_applications_and_old_decisions_replay(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant, products = await lending_partner(app)
    uscc = new_uscc()
    await store_features(app, uscc, {**HEALTHY, "tax.arrears_outstanding_fen": MARKER_FEN})
    partner = await consented_caller(app, tenant, uscc)
    officer = await risk_officer(app)

    before = await apply_and_submit(partner, application_body(uscc, products[0]))
    assert before["status"] == "manual_review"
    old = await decision_record(officer, before["decision_id"])
    old_codes = {h["reason_code"] for h in old["record"]["hits"]}
    assert "BEH_TAX_ARREARS" in old_codes
    assert "TST_MARKED_ARREARS" not in old_codes

    document = next_version()
    published = await officer.post(
        "/api/v1/operator/rulesets",
        json={"document": json.dumps(document), "note": "decline the marked arrears"},
    )
    assert published.status_code == 201, published.text
    listed = [r["version"] for r in (await officer.get("/api/v1/operator/rulesets")).json()]
    assert {old["record"]["ruleset_version"], document["version"]} <= set(listed)

    after = await apply_and_submit(partner, application_body(uscc, products[0]))
    assert after["status"] == "declined"
    new = await decision_record(officer, after["decision_id"])
    assert new["record"]["ruleset_version"] == document["version"]
    assert "TST_MARKED_ARREARS" in {h["reason_code"] for h in new["record"]["hits"]}

    for decision, record in ((before, old), (after, new)):
        replayed = await officer.post(
            f"/api/v1/operator/decisions/{decision['decision_id']}/replay"
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["reproduced"] is True
        assert replayed.json()["record_hash"] == record["record_hash"]
    assert old["record"]["ruleset_version"] != document["version"]
