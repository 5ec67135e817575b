"""A sandbox loan from contract to final repayment, through the API and the daily jobs."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from tests.builders import login, member_client
from tests.conftest import freeze_clock
from tests.consent_builders import create_customer, latest_code
from tests.servicing_builders import USCC, CoreBankServer

from puhui.clock import FrozenClock
from puhui.jobs import JobContext, run_job
from puhui.tenancy.models import Member, Tenant, TenantKind

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    with freeze_clock(START) as clock:
        yield clock


def loan_body(tenant: Tenant, customer_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "tenant_id": str(tenant.id),
        "customer_id": str(customer_id),
        "enterprise_uscc": USCC,
        "enterprise_name": "杭州明远科技有限公司",
        "settlement_account": f"6222{uuid.uuid4().int % 10**12:012d}",
        "product_code": "procurement-loan",
        "product_version": "1",
        "principal_fen": 1_200_000,
        "annual_rate": "0.0600",
        "term_months": 3,
        "method": "equal_principal",
        "instalment_fee_fen": 500,
        "upfront_fee_fen": 2_000,
        "consent_id": str(uuid.uuid4()),
        "monitoring_consent_until": "2027-01-15",
    }
    body.update(overrides)
    return body


async def signed_loan(
    app: Litestar, **overrides: object
) -> tuple[httpx.AsyncClient, Tenant, Member, dict[str, Any]]:
    """A partner member's client and a loan of theirs with the contract signed."""
    operator, _, _ = await member_client(app, ("operator",), kind=TenantKind.BANK)
    partner, tenant, member = await member_client(app, ("owner",))
    borrower = await create_customer(app)
    opened = await operator.post(
        "/api/v1/operator/servicing/loans", json=loan_body(tenant, borrower.user.id, **overrides)
    )
    assert opened.status_code == 201, opened.text
    loan = opened.json()
    loan_id = loan["id"]
    document = await partner.get(f"/api/v1/loans/{loan_id}/contract/document")
    sent = await partner.post(f"/api/v1/loans/{loan_id}/contract/send")
    assert sent.status_code == 200, sent.text
    signed = await partner.post(
        f"/api/v1/loans/{loan_id}/contract/signature",
        json={
            "code": await latest_code(app, borrower.user.id),
            "document_sha256": document.headers["x-document-sha256"],
            "device": "iPhone15,2 app/3.1",
        },
    )
    assert signed.status_code == 200, signed.text
    return partner, tenant, member, loan


async def test_contract_states_the_terms_and_signing_seals_the_exact_document(
    app: Litestar, client: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    operator, _, _ = await member_client(app, ("operator",), kind=TenantKind.BANK)
    partner, tenant, _ = await member_client(app, ("owner",))
    borrower = await create_customer(app)
    opened = await operator.post(
        "/api/v1/operator/servicing/loans", json=loan_body(tenant, borrower.user.id)
    )
    loan = opened.json()
    url = f"/api/v1/loans/{loan['id']}"

    document = await partner.get(f"{url}/contract/document")
    assert document.status_code == 200
    html = document.text
    for stated in (f"{loan['apr']}%", "12,000.00", "罚息", "数据使用授权", "12378", "2026-04-15"):
        assert stated in html
    digest = document.headers["x-document-sha256"]

    # Signing before the contract is sent, or with a wrong code, or another document: refused.
    early = await partner.post(
        f"{url}/contract/signature",
        json={"code": "000000", "document_sha256": digest, "device": "d"},
    )
    assert early.status_code == 409
    sent = await partner.post(f"{url}/contract/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["sent_to"] == borrower.phone[:3] + "****" + borrower.phone[-4:]
    code = await latest_code(app, borrower.user.id)  # the notifier's sandbox inbox
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    bad = await partner.post(
        f"{url}/contract/signature",
        json={"code": wrong_code, "document_sha256": digest, "device": "d"},
    )
    assert bad.status_code == 401
    assert bad.json()["type"].endswith("one-time-code-wrong")
    other_doc = await partner.post(
        f"{url}/contract/signature", json={"code": code, "document_sha256": "0" * 64, "device": "d"}
    )
    assert other_doc.status_code == 409
    frozen.advance(timedelta(seconds=1))  # the inbox orders codes by time
    await partner.post(f"{url}/contract/send")
    fresh = await latest_code(app, borrower.user.id)
    if fresh != code:  # (one chance in a million that the new code repeats the old one)
        stale = await partner.post(
            f"{url}/contract/signature",
            json={"code": code, "document_sha256": digest, "device": "Pixel 8"},
        )
        assert stale.status_code == 401  # only the newest code signs this contract
    code = fresh
    signed = await partner.post(
        f"{url}/contract/signature",
        json={"code": code, "document_sha256": digest, "device": "Pixel 8"},
    )
    assert signed.status_code == 200, signed.text
    contract = signed.json()
    assert contract["status"] == "signed"
    assert contract["evidence"]["document_sha256"] == digest
    assert contract["evidence"]["device"] == "Pixel 8"
    assert contract["evidence"]["consent_id"] is not None
    assert contract["evidence"]["authentication"]["method"] == "customer_one_time_code"
    assert contract["evidence"]["document"]["media_type"] == "text/html; charset=utf-8"
    assert contract["evidence"]["document"]["sha256"] == digest

    # The PDF rendering sealed at signing: its hash is in the evidence, beside the HTML's.
    if "pdf_unavailable" in contract["evidence"] and os.environ.get("PUHUI_REQUIRE_PDF") != "1":
        # No Pango or no CJK font on this machine (CI installs both): the evidence says why,
        # and the signed HTML stands alone.
        assert contract["evidence"]["pdf_unavailable"]
        assert contract["evidence"].get("renditions", []) == []
    else:
        (rendition,) = contract["evidence"]["renditions"]
        assert rendition["media_type"] == "application/pdf"
        assert rendition["rendering_of"] == digest
        assert rendition["renderer"].startswith("WeasyPrint")
        pdf = await partner.get(f"{url}/contract/document", headers={"Accept": "application/pdf"})
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert hashlib.sha256(pdf.content).hexdigest() == rendition["sha256"]
        assert pdf.headers["x-pdf-sha256"] == rendition["sha256"]
        assert pdf.headers["x-document-sha256"] == digest
        assert "pdf_unavailable" not in contract["evidence"]  # every glyph had a font
    refused = await partner.get(f"{url}/contract/document", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert refused.headers["content-type"].startswith("application/problem+json")

    # Signed is final: no second signature, and the stored document is unchanged.
    again = await partner.post(
        f"{url}/contract/signature", json={"code": code, "document_sha256": digest, "device": "x"}
    )
    assert again.status_code == 409
    assert (await partner.get(f"{url}/contract/document")).text == html

    # Anyone can verify a copy against the evidence; a tampered copy fails.
    verify = "/api/v1/contracts/verification"
    ok = await client.post(
        verify, json={"document": html, "evidence_jws": contract["evidence_jws"]}
    )
    assert ok.json()["valid"] is True
    as_pdf = await client.post(
        verify,
        json={
            "document_base64": base64.b64encode(pdf.content).decode(),
            "evidence_jws": contract["evidence_jws"],
        },
    )
    assert as_pdf.json()["valid"] is True
    assert as_pdf.json()["reason"] == "the document is the application/pdf sealed at signing"
    both = await client.post(
        verify,
        json={"document": html, "document_base64": "AAAA", "evidence_jws": "x.y.z"},
    )
    assert both.status_code == 422
    tampered = html.replace("12,000.00", "1,200.00")
    no = await client.post(
        verify, json={"document": tampered, "evidence_jws": contract["evidence_jws"]}
    )
    assert no.json() == {
        "valid": False,
        "reason": "the document differs from the one signed",
        "contract_id": contract["id"],
        "signed_at": contract["evidence"]["signed_at"],
    }
    forged = contract["evidence_jws"][:-4] + (
        "AAAA" if not contract["evidence_jws"].endswith("AAAA") else "BBBB"
    )
    assert (await client.post(verify, json={"document": html, "evidence_jws": forged})).json()[
        "valid"
    ] is False


async def test_sandbox_loan_runs_from_signing_to_final_repayment(
    app: Litestar,
    client: httpx.AsyncClient,
    frozen: FrozenClock,
    corebank: CoreBankServer,
) -> None:
    partner, _, member, loan = await signed_loan(app)
    url = f"/api/v1/loans/{loan['id']}"
    schedule = loan["schedule"]
    assert [row["principal"] for row in schedule] == [400_000, 400_000, 400_000]

    paid_out = await partner.post(f"{url}/disbursement")
    assert paid_out.status_code == 200, paid_out.text
    assert paid_out.json()["state"] == "succeeded"
    assert paid_out.json()["amount"] == 1_198_000  # the upfront fee is withheld
    transfer = corebank.bank.transfers[f"disb-{uuid.UUID(loan['id']).hex}"]
    assert transfer.amount_fen == 1_198_000
    assert (await partner.get(f"{url}/contract")).json()["status"] == "effective"
    assert (await partner.get(url)).json()["status"] == "active"

    # Instalment 1 is paid on its due date over the counter.
    frozen.advance(date(2026, 2, 15) - START.date())
    await login(partner, member)
    first = schedule[0]["principal"] + schedule[0]["interest"] + schedule[0]["fees"]
    paid = await partner.post(
        f"{url}/repayments", json={"amount_fen": first, "idempotency_key": "counter-0001"}
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["allocated"] == first
    assert paid.json()["to_suspense"] == 0
    repeat = await partner.post(
        f"{url}/repayments", json={"amount_fen": first, "idempotency_key": "counter-0001"}
    )
    assert repeat.json()["id"] == paid.json()["id"]  # the same key is applied once

    # Instalment 2 is missed: ten days later the daily accrual job finds it 10 days past due.
    frozen.advance(timedelta(days=38))  # 2026-03-25
    jobs = JobContext(settings=app.state.settings, db=app.state.db)
    accrual = await run_job("servicing.accrual", jobs)
    assert accrual is not None
    assert (accrual.outcome, accrual.error) == ("ok", None)
    await login(partner, member)
    late = (await partner.get(url)).json()
    assert (late["dpd"], late["bucket"], late["loan_class"]) == (10, "M1", "special_mention")
    assert late["schedule"][1]["penalty"] > 0

    # The auto-debit job collects what is owed (penalty first) from the borrower's account.
    owed = late["schedule"][1]["owed"]
    async with httpx.AsyncClient(base_url=corebank.url) as bank:
        settlement = transfer.payee_account
        await bank.post(f"/accounts/{settlement}/deposits", json={"amount_fen": 5_000_000})
    debit_key = f"autodebit:{loan['id'].replace('-', '')}:2026-03-25"
    collected = await run_job("servicing.auto_debit", jobs)
    assert collected is not None
    assert collected.outcome == "ok", collected.error
    assert corebank.bank.debits[debit_key].collected_fen >= owed
    again = await run_job("servicing.auto_debit", jobs)  # the same day again: nothing more
    assert again is not None
    assert again.outcome == "ok", again.error
    assert len([k for k in corebank.bank.debits if loan["id"].replace("-", "") in k]) == 1
    after = (await partner.get(url)).json()
    assert after["dpd"] == 0
    assert after["schedule"][1]["owed"] == 0

    # The last instalment with an overpayment: the surplus is held in suspense, the loan settles.
    frozen.advance(date(2026, 4, 15) - date(2026, 3, 25))
    await login(partner, member)
    last_owed = after["schedule"][2]["owed"]
    final = await partner.post(
        f"{url}/repayments", json={"amount_fen": last_owed + 123, "idempotency_key": "counter-0003"}
    )
    assert final.status_code == 201, final.text
    assert final.json()["to_suspense"] == 123
    done = (await partner.get(url)).json()
    assert done["status"] == "settled"
    assert done["outstanding_principal"] == 0

    postings = (await partner.get(f"{url}/ledger")).json()
    balance: dict[str, int] = {}
    for p in postings:
        balance[p["account"]] = balance.get(p["account"], 0) + p["debit"] - p["credit"]
    for receivable in (
        "principal_receivable",
        "interest_receivable",
        "fees_receivable",
        "penalty_receivable",
    ):
        assert balance.get(receivable, 0) == 0, receivable
    assert balance["suspense"] == -123
    assert -balance["fee_income"] == 2_000 + 3 * 500
    assert -balance["penalty_income"] == sum(row["penalty"] for row in done["schedule"])


async def test_prepayment_recalculates_the_remaining_schedule(
    app: Litestar, client: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    partner, _, member, loan = await signed_loan(
        app, method="equal_instalment", term_months=6, principal_fen=6_000_000, upfront_fee_fen=0
    )
    url = f"/api/v1/loans/{loan['id']}"
    assert (await partner.post(f"{url}/disbursement")).json()["state"] == "succeeded"
    frozen.advance(timedelta(days=45))  # between the first and second due dates
    await login(partner, member)
    before = (await partner.get(url)).json()
    first_owed = before["schedule"][0]["owed"]
    prepaid = await partner.post(
        f"{url}/repayments",
        json={
            "amount_fen": first_owed + 3_000_000,
            "idempotency_key": "prepay-0001",
            "overpayment": "prepay",
            "prepayment_option": "reduce_instalment",
        },
    )
    assert prepaid.status_code == 201, prepaid.text
    body = prepaid.json()
    assert body["prepaid_principal"] > 2_900_000
    assert body["to_suspense"] == 0
    after = (await partner.get(url)).json()
    remaining = [row for row in after["schedule"] if row["number"] > 1]
    assert len(remaining) == 5
    assert sum(row["principal"] for row in remaining) == after["outstanding_principal"]
    assert (
        after["outstanding_principal"]
        == 6_000_000 - before["schedule"][0]["principal"] - body["prepaid_principal"]
    )
    old_level = before["schedule"][1]["principal"] + before["schedule"][1]["interest"]
    new_level = remaining[1]["principal"] + remaining[1]["interest"]
    assert new_level < old_level / 2 + 1000
