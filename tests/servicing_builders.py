"""Servicing builders: sandbox loans, the core-bank simulator on loopback, ledger checks."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import uvicorn
from litestar import Litestar
from sqlalchemy import delete

from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.lending.schedules import RepaymentMethod
from puhui.notify import load_notifier
from puhui.scenario.models import FeatureRow
from puhui.servicing import service
from puhui.servicing.corebank_simulator import CoreBank, create_corebank_app
from puhui.servicing.disbursement import CoreBankRail, DisbursementDesk
from puhui.servicing.ledger import TrialBalance, trial_balance
from puhui.servicing.models import DisbursementState, Loan
from puhui.servicing.offers import LoanOffer
from puhui.servicing.repository import ContractRepository
from puhui.servicing.signing import SignerContext, signing_keyset
from puhui.tenancy.models import Tenant
from puhui.tenancy.subject import AuthSubject
from tests.consent_builders import create_customer, latest_code
from tests.lending_builders import store_features

USCC = "91330106MA2B3C4D5E"


def sandbox_offer(tenant_id: uuid.UUID, **overrides: Any) -> LoanOffer:
    """A 12-month, 100,000-yuan equal-instalment loan at 6 % starting today."""
    fields: dict[str, Any] = {
        "tenant_id": tenant_id,
        "customer_id": uuid.uuid4(),
        "enterprise_uscc": USCC,
        "enterprise_name": "杭州明远科技有限公司",
        "settlement_account": f"6222{uuid.uuid4().int % 10**12:012d}",
        "product_code": "procurement-loan",
        "product_version": "1",
        "principal": 10_000_000,
        "annual_rate": Decimal("0.06"),
        "term_months": 12,
        "method": RepaymentMethod.EQUAL_INSTALMENT,
        "start_date": utcnow().date(),
        "consent_id": uuid.uuid4(),
        "monitoring_consent_until": date(2099, 1, 1),
    }
    fields.update(overrides)
    return LoanOffer(**fields)


async def open_sandbox_loan(app: Litestar, tenant: Tenant, **overrides: Any) -> Loan:
    """A loan in state awaiting signature; its borrower is a bank customer with a phone."""
    if "customer_id" not in overrides:
        overrides["customer_id"] = (await create_customer(app)).user.id
    async with app.state.db.unit_of_work(tenant.id) as session:
        loan, _ = await service.open_loan(
            session, sandbox_offer(tenant.id, **overrides), tenant.name
        )
    return loan


async def ledger_trial_balance(app: Litestar) -> TrialBalance:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, "test.trial_balance"):
            return await trial_balance(session)


async def assert_ledger_balanced(app: Litestar) -> TrialBalance:
    """Every posting so far sums to zero overall and within each entry."""
    tb = await ledger_trial_balance(app)
    assert tb.unbalanced_entries == 0, tb
    assert tb.total_debit == tb.total_credit, tb
    return tb


@dataclass
class CoreBankServer:
    url: str
    bank: CoreBank


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def corebank_server() -> Iterator[CoreBankServer]:
    """The simulator served over HTTP on loopback from a background thread."""
    bank = CoreBank()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_corebank_app(bank),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("core-bank simulator did not start")
        time.sleep(0.01)
    try:
        yield CoreBankServer(url=f"http://127.0.0.1:{port}", bank=bank)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def sign_loan(app: Litestar, tenant: Tenant, loan: Loan) -> None:
    """Send the contract and sign it with the code the borrower's phone received."""
    settings = app.state.settings
    async with app.state.db.unit_of_work(tenant.id) as session:
        await service.send_contract(session, load_notifier(settings), loan.id)
    code = await latest_code(app, loan.customer_id)
    async with app.state.db.unit_of_work(tenant.id) as session:
        contract = await ContractRepository(session).for_loan(loan.id)
        await service.sign_contract(
            session,
            app.state.db,
            settings,
            loan.id,
            code=code,
            confirmed_sha256=contract.document_sha256,
            signer=SignerContext(
                customer_id=loan.customer_id, ip="127.0.0.1", device="test", consent_id=None
            ),
            keyset=signing_keyset(settings.key_dir),
            subject=AuthSubject(kind="member", tenant_id=tenant.id, tenant_kind=tenant.kind),
        )


async def active_sandbox_loan(
    app: Litestar, tenant: Tenant, corebank_url: str, **overrides: Any
) -> Loan:
    """A signed and disbursed loan."""
    loan = await open_sandbox_loan(app, tenant, **overrides)
    await sign_loan(app, tenant, loan)
    rail = CoreBankRail.connect(corebank_url)
    try:
        view = await DisbursementDesk(app.state.db, rail).disburse(tenant.id, loan.id)
    finally:
        await rail.aclose()
    assert view.state is DisbursementState.SUCCEEDED
    return loan


async def replace_features(app: Litestar, uscc: str, values: dict[str, Any]) -> None:
    """The connectors' latest features for ``uscc`` become exactly ``values``."""
    async with app.state.db.unit_of_work() as session:
        await session.execute(delete(FeatureRow).where(FeatureRow.uscc == uscc))
    await store_features(app, uscc, values)
