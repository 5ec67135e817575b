"""The operator console's manual credit review queue worked through its pages (assign, approve,
decline, return; reasons required; roles checked; audited), and the partner's request-log search
by request id, API, status and idempotency key."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_member, login, member_client
from tests.conftest import http_client
from tests.lending_builders import (
    HEALTHY,
    application_body,
    consented_caller,
    lending_partner,
    lending_ready,
    new_uscc,
    store_features,
)
from tests.portal_builders import bank_staff, referred_credit_case, review_case_of, submit

from puhui.audit.models import AuditRecord
from puhui.risk.models import ReviewStatus

pytestmark = pytest.mark.anyio
QUEUE = "/console/credit-reviews"


async def _reasons(app: Litestar, application_id: str) -> list[tuple[str, str | None]]:
    async with app.state.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditRecord.action, AuditRecord.reason)
            .where(AuditRecord.target == f"application:{application_id}")
            .order_by(AuditRecord.day, AuditRecord.seq)
        )
    return [(a, r) for a, r in rows]


async def test_the_credit_review_queue_is_worked_from_the_console(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await lending_ready(app)
    approve, decline, give_back = [await referred_credit_case(app) for _ in range(3)]
    risk, _, _ = await bank_staff(app, ("risk_officer",))
    queue = await risk.get(QUEUE, headers={"accept-language": "en"})
    assert queue.status_code == 200
    for application in (approve, decline, give_back):
        assert application in queue.text
    case = await review_case_of(app, approve)
    action = f"{QUEUE}/{case.id}"
    early = await submit(risk, QUEUE, action, {"action": "approve", "reason": "looks fine"})
    assert early.status_code == 403  # not assigned to this officer yet
    assert "text/html" in early.headers["content-type"]
    blank = await submit(risk, QUEUE, action, {"action": "assign", "reason": " "})
    assert blank.status_code == 422
    assert 'id="reason-error"' in blank.text or "at least 3 characters" in blank.text
    unknown = await submit(risk, QUEUE, action, {"action": "shred", "reason": "no such thing"})
    assert unknown.status_code == 422
    operator, _, _ = await bank_staff(app, ("operator",))
    assert (await operator.get(QUEUE)).status_code == 403
    for application, verb, status in (
        (approve, "approve", ReviewStatus.APPROVED),
        (decline, "decline", ReviewStatus.DECLINED),
        (give_back, "return", ReviewStatus.RETURNED),
    ):
        case = await review_case_of(app, application)
        action = f"{QUEUE}/{case.id}"
        assigned = await submit(risk, QUEUE, action, {"action": "assign", "reason": "taking it"})
        assert assigned.status_code == 303, assigned.text[:300]
        assert (await review_case_of(app, application)).status is ReviewStatus.ASSIGNED
        decided = await submit(
            risk, QUEUE, action, {"action": verb, "reason": f"{verb}: evidence checked"}
        )
        assert decided.status_code == 303, decided.text[:300]
        assert (await review_case_of(app, application)).status is status
        actions = await _reasons(app, application)
        assert ("review.assigned", "taking it") in actions
        assert (f"review.{status.value}", f"{verb}: evidence checked") in actions
    after = await risk.get(QUEUE, headers={"accept-language": "en"})
    assert 'data-status="approved"' in after.text
    assert 'data-status="declined"' in after.text
    assert 'data-status="returned"' in after.text
    again = await submit(
        risk,
        QUEUE,
        f"{QUEUE}/{(await review_case_of(app, approve)).id}",
        {"action": "decline", "reason": "second thoughts"},
    )
    assert again.status_code == 409


def _request_ids(page: str) -> set[str]:
    return set(re.findall(r"<td><code>([0-9A-Za-z_-]{8,128})</code></td>", page))


async def test_request_logs_search_by_request_id_api_status_and_idempotency_key(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant, products = await lending_partner(app)
    uscc = new_uscc()
    await store_features(app, uscc, HEALTHY)
    partner = await consented_caller(app, tenant, uscc)
    tax = next(p for p in products if p.code.endswith("TAX-LOAN"))
    key = f"k-{uuid.uuid4()}"
    created = await partner.post(
        "/api/v1/applications", json=application_body(uscc, tax), headers={"Idempotency-Key": key}
    )
    assert created.status_code == 201, created.text
    listed = await partner.get("/api/v1/applications")
    assert listed.status_code == 200, listed.text
    missing = await partner.get(f"/api/v1/applications/{uuid.uuid4()}")
    assert missing.status_code == 404
    ids = {
        "created": created.headers["x-request-id"],
        "listed": listed.headers["x-request-id"],
        "missing": missing.headers["x-request-id"],
    }
    viewer = http_client(app)
    await login(viewer, await create_member(app, tenant, ["viewer"]))

    async def search(**params: str | int) -> set[str]:
        page = await viewer.get("/portal/logs", params=params)
        assert page.status_code == 200, page.text[:300]
        return _request_ids(page.text) & set(ids.values())

    assert await search() == set(ids.values())
    # the form sends its empty fields too
    empty = {"q": "", "api": "", "request_id": "", "idempotency_key": "", "client_id": ""}
    assert await search(**empty, status="") == set(ids.values())
    assert (await viewer.get("/portal/logs", params={"status": "9"})).status_code == 422
    assert (await viewer.get("/portal/logs", params={"status": "x"})).status_code == 422
    assert await search(request_id=ids["missing"]) == {ids["missing"]}
    assert await search(status=4) == {ids["missing"]}
    assert await search(status=2) == {ids["created"], ids["listed"]}
    assert await search(api="CreateApplication") == {ids["created"]}
    assert await search(idempotency_key=key) == {ids["created"]}
    assert await search(idempotency_key="k-never-used-0000") == set()
    by_key = await viewer.get("/portal/logs", params={"idempotency_key": key})
    assert f"<code>{key}</code>" in by_key.text
    # another partner's member finds none of these calls
    stranger, _, _ = await member_client(app, ("owner",))
    page = await stranger.get("/portal/logs", params={"idempotency_key": key})
    assert _request_ids(page.text) & set(ids.values()) == set()


async def test_the_audit_search_form_accepts_its_empty_fields_and_explains_bad_ones(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    auditor, _, _ = await bank_staff(app, ("auditor",))
    blank = {"action": "", "api_id": "", "request_id": "", "tenant": "", "day": ""}
    searched = await auditor.get("/console/audit", params=blank)
    assert searched.status_code == 200, searched.text[:300]
    assert 'id="chain-verdict"' in searched.text
    bad = await auditor.get("/console/audit", params={**blank, "tenant": "not-a-uuid"})
    assert bad.status_code == 422
    assert "text/html" in bad.headers["content-type"]
    bad_day = await auditor.get("/console/audit", params={**blank, "day": "2026-13-40"})
    assert bad_day.status_code == 422
