"""Lending hands an approved application to servicing; the loan moves the unified credit limit."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_member, login, member_client
from tests.conftest import http_client
from tests.consent_builders import create_customer, latest_code
from tests.lending_builders import (
    HEALTHY,
    application_body,
    consented_caller,
    lending_partner,
    new_uscc,
    store_features,
)
from tests.servicing_builders import (
    CoreBankServer,
    active_sandbox_loan,
    open_sandbox_loan,
    replace_features,
    sign_loan,
)

from puhui.lending import limits
from puhui.lending.service import scenario_features
from puhui.risk.service import CreditLimitService
from puhui.servicing.early_warning import run_warnings
from puhui.servicing.repository import LoanRepository

pytestmark = pytest.mark.anyio

ACCOUNT = "6222020000123456"


async def available(app: Litestar, uscc: str) -> int:
    async with app.state.db.unit_of_work() as session:
        return (await limits.position(session, uscc=uscc)).available_fen


async def test_an_approved_application_becomes_a_loan_with_its_contract_over_http(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    tenant, products = await lending_partner(app)
    tax = next(p for p in products if p.code.endswith("TAX-LOAN"))
    uscc = new_uscc()
    await store_features(app, uscc, HEALTHY)
    borrower = await create_customer(app, uscc=uscc)  # the enterprise's legal representative
    partner = await consented_caller(app, tenant, uscc)
    created = await partner.post(
        "/api/v1/applications",
        json=application_body(uscc, tax),
        headers={"Idempotency-Key": "handoff-0001"},
    )
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]

    # Not decided yet: no loan.
    early = await partner.post(
        f"/api/v1/applications/{application_id}/loan", json={"settlement_account": ACCOUNT}
    )
    assert early.status_code == 409, early.text

    decided = await partner.post(f"/api/v1/applications/{application_id}/submit")
    assert decided.json()["status"] == "approved", decided.text
    approved = decided.json()
    occupied_by_approval = await available(app, uscc)

    bad = await partner.post(
        f"/api/v1/applications/{application_id}/loan", json={"settlement_account": "12ab"}
    )
    assert bad.status_code == 422
    opened = await partner.post(
        f"/api/v1/applications/{application_id}/loan", json={"settlement_account": ACCOUNT}
    )
    assert opened.status_code == 201, opened.text
    loan = opened.json()
    assert loan["status"] == "awaiting_signature"
    assert loan["principal"] == approved["approved_amount_fen"]
    assert loan["annual_rate"] == approved["annual_rate"]
    assert loan["term_months"] == approved["term_months"]
    assert loan["method"] == approved["repayment_method"]
    assert loan["product_code"] == tax.code
    again = await partner.post(
        f"/api/v1/applications/{application_id}/loan", json={"settlement_account": ACCOUNT}
    )
    assert again.json()["id"] == loan["id"]  # one loan per application, however often asked

    # The partner's portal member sees the generated contract and takes it to signature.
    member = await create_member(app, tenant, ["owner"])
    portal = http_client(app)
    await login(portal, member)
    url = f"/api/v1/loans/{loan['id']}"
    contract = (await portal.get(f"{url}/contract")).json()
    assert contract["status"] == "generated"
    document = await portal.get(f"{url}/contract/document")
    assert f"{approved['approved_amount_fen'] // 100:,}.00" in document.text
    assert (await portal.post(f"{url}/contract/send")).status_code == 200
    signed = await portal.post(
        f"{url}/contract/signature",
        json={
            "code": await latest_code(app, borrower.user.id),
            "document_sha256": document.headers["x-document-sha256"],
            "device": "partner app 2.0",
        },
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["evidence"]["signer"]["enterprise_uscc"] == uscc
    paid = await portal.post(f"{url}/disbursement")
    assert paid.json()["state"] == "succeeded", paid.text
    # The approval occupied the limit; the disbursement is that occupation, not a second one.
    assert await available(app, uscc) == occupied_by_approval
    transfer = corebank.bank.transfers[f"disb-{uuid.UUID(loan['id']).hex}"]
    assert transfer.payee_account == ACCOUNT


async def test_a_revolving_loan_occupies_on_disbursement_and_releases_on_repayment(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    partner, tenant, _ = await member_client(app, ("owner",))
    uscc = new_uscc()
    async with app.state.db.unit_of_work() as session:  # the bank grants a 500,000-yuan limit
        await CreditLimitService(session).occupy_for_approval(
            uscc,
            "REVOLVING-LOAN",
            50_000_000,
            1_000_000,
            partner_tenant_id=tenant.id,
            reference=f"grant-{uscc}",
        )
    start = await available(app, uscc)
    assert start == 49_000_000
    loan = await open_sandbox_loan(
        app,
        tenant,
        enterprise_uscc=uscc,
        product_code="REVOLVING-LOAN",
        principal=10_000_000,
        revolving=True,
    )
    assert loan.credit_limit_id is not None
    await sign_loan(app, tenant, loan)
    url = f"/api/v1/loans/{loan.id}"
    assert (await partner.post(f"{url}/disbursement")).json()["state"] == "succeeded"
    assert await available(app, uscc) == start - 10_000_000
    assert (await partner.post(f"{url}/disbursement")).json()["state"] == "succeeded"
    assert await available(app, uscc) == start - 10_000_000  # a retry occupies nothing more

    repaid = await partner.post(
        f"{url}/repayments",
        json={
            "amount_fen": 4_000_000,
            "idempotency_key": "revolve-0001",
            "overpayment": "prepay",
        },
    )
    assert repaid.status_code == 201, repaid.text
    body = repaid.json()
    principal_back = body["prepaid_principal"] + sum(
        line["amount"] for line in body["lines"] if line["bucket"] == "principal"
    )
    assert principal_back > 3_900_000
    assert await available(app, uscc) == start - 10_000_000 + principal_back
    await partner.post(
        f"{url}/repayments",
        json={"amount_fen": 4_000_000, "idempotency_key": "revolve-0001", "overpayment": "prepay"},
    )
    assert await available(app, uscc) == start - 10_000_000 + principal_back  # applied once


async def test_a_frozen_limit_stops_the_disbursement_before_any_money_moves(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    partner, tenant, _ = await member_client(app, ("owner",))
    uscc = new_uscc()
    async with app.state.db.unit_of_work() as session:
        service = CreditLimitService(session)
        await service.occupy_for_approval(
            uscc, "REVOLVING-LOAN", 50_000_000, 1_000_000,
            partner_tenant_id=tenant.id, reference=f"grant-{uscc}",
        )  # fmt: skip
    loan = await open_sandbox_loan(
        app, tenant, enterprise_uscc=uscc, product_code="REVOLVING-LOAN", revolving=True
    )
    await sign_loan(app, tenant, loan)
    async with app.state.db.unit_of_work() as session:
        await CreditLimitService(session).freeze(uscc, "early warning: new tax arrears")
    refused = await partner.post(f"/api/v1/loans/{loan.id}/disbursement")
    assert refused.status_code == 409, refused.text
    assert f"disb-{loan.id.hex}" not in corebank.bank.transfers
    async with app.state.db.unit_of_work(tenant.id) as session:
        assert await LoanRepository(session).disbursement(loan.id) is None


async def test_an_early_warning_freezes_the_unified_limit(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    _, tenant, _ = await member_client(app, ("owner",))
    uscc = new_uscc()
    async with app.state.db.unit_of_work() as session:
        await CreditLimitService(session).occupy_for_approval(
            uscc, "REVOLVING-LOAN", 50_000_000, 1_000_000,
            partner_tenant_id=tenant.id, reference=f"grant-{uscc}",
        )  # fmt: skip
    await active_sandbox_loan(
        app, tenant, corebank.url, enterprise_uscc=uscc, product_code="REVOLVING-LOAN",
        revolving=True, monitoring_consent_until=date(2099, 1, 1),
    )  # fmt: skip
    healthy = {"tax.arrears_count_24m": 0, "tax.credit_grade": "A"}
    await replace_features(app, uscc, healthy)
    await run_warnings(app.state.db, scenario_features, date(2026, 6, 1))
    async with app.state.db.unit_of_work() as session:
        assert (await limits.position(session, uscc=uscc)).state == "active"

    await replace_features(app, uscc, {**healthy, "tax.arrears_count_24m": 2})
    run = await run_warnings(app.state.db, scenario_features, date(2026, 6, 2))
    assert run.warnings_raised == 1
    async with app.state.db.unit_of_work() as session:
        frozen = await limits.position(session, uscc=uscc)
    assert frozen.state == "frozen"  # no new drawing until a person disposes of the warning
