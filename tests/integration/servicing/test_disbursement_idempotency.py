"""Disbursement is idempotent end to end: concurrent retries and a killed worker pay out once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from tests.builders import member_client
from tests.servicing_builders import CoreBankServer, open_sandbox_loan, sign_loan

from puhui.config import Settings
from puhui.db.session import tenant_bypass
from puhui.servicing.disbursement import CoreBankRail, DisbursementDesk
from puhui.servicing.models import (
    ContractStatus,
    Disbursement,
    DisbursementState,
    JournalEntry,
    LoanStatus,
)
from puhui.servicing.repository import ContractRepository, LoanRepository

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]


async def payout_counts(app: Litestar, loan_id: uuid.UUID) -> tuple[int, DisbursementState | None]:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, "test"):
            postings = await session.scalar(
                select(func.count())
                .select_from(JournalEntry)
                .where(JournalEntry.loan_id == loan_id, JournalEntry.kind == "disbursement")
            )
            row = (
                await session.execute(select(Disbursement).where(Disbursement.loan_id == loan_id))
            ).scalar_one_or_none()
            return int(postings or 0), row.state if row else None


async def test_fifty_concurrent_identical_http_requests_disburse_once(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    """Fifty identical POSTs (same Idempotency-Key) at once through the HTTP API: one payout."""
    partner, tenant, _ = await member_client(app, ("owner",))
    loan = await open_sandbox_loan(app, tenant)
    await sign_loan(app, tenant, loan)
    key, account = f"disb-{loan.id.hex}", loan.settlement_account
    url = f"/api/v1/loans/{loan.id}/disbursement"
    headers = {"Idempotency-Key": f"payout-{loan.id.hex[:12]}"}
    requests_before = corebank.bank.transfer_requests

    answers = await asyncio.gather(*(partner.post(url, headers=headers) for _ in range(50)))

    assert {a.status_code for a in answers} == {200}, {a.text for a in answers}
    states = {a.json()["state"] for a in answers}
    assert states <= {"sent", "succeeded"}  # a loser sees the winner's intent in flight
    assert "succeeded" in states
    booked = [t for t in corebank.bank.transfers.values() if t.payee_account == account]
    assert [t.idempotency_key for t in booked] == [key]  # one transfer booked, under one key
    assert corebank.bank.balances[account] == loan.principal  # credited once
    assert corebank.bank.transfer_requests - requests_before < 50  # the intent turned most away
    assert await payout_counts(app, loan.id) == (1, DisbursementState.SUCCEEDED)
    async with app.state.db.unit_of_work(tenant.id) as session:
        intent = await LoanRepository(session).disbursement(loan.id)
        assert intent is not None
        assert intent.request_key == headers["Idempotency-Key"]
    late = await partner.post(url, headers={"Idempotency-Key": "another-key-0001"})  # a retry
    assert late.status_code == 200
    assert late.json()["state"] == "succeeded"
    bad_key = await partner.post(url, headers={"Idempotency-Key": "short"})
    assert bad_key.status_code == 422
    assert len([t for t in corebank.bank.transfers.values() if t.payee_account == account]) == 1
    assert corebank.bank.balances[account] == loan.principal
    assert await payout_counts(app, loan.id) == (1, DisbursementState.SUCCEEDED)


async def test_a_worker_killed_mid_disbursement_is_reconciled_to_exactly_one_transfer(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    _, tenant, _ = await member_client(app, ("owner",))
    loan = await open_sandbox_loan(app, tenant)
    await sign_loan(app, tenant, loan)
    key = f"disb-{loan.id.hex}"
    settings: Settings = app.state.settings
    # The core bank books the transfer, then stalls: the worker never learns the outcome.
    async with httpx.AsyncClient(base_url=corebank.url) as bank:
        await bank.post("/faults", json={"mode": "stall_after", "times": 1, "stall_seconds": 60})
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": settings.database_url,
        "PUHUI_COREBANK_URL": corebank.url,
        "PUHUI_KEY_DIR": str(settings.key_dir),
        "PUHUI_ENVIRONMENT": "test",
        "PUHUI_LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
    }
    worker = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-c", "from puhui.cli import main; main()", "servicing", "disburse",
         str(tenant.id), str(loan.id)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while key not in corebank.bank.transfers:
            if worker.poll() is not None:
                error = worker.stderr.read() if worker.stderr else b""
                raise AssertionError(f"the worker ended early: {error!r}")
            assert time.monotonic() < deadline, "the transfer request never arrived"
            await asyncio.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)  # after the request, before the outcome is stored
    finally:
        worker.wait(timeout=30)

    assert await payout_counts(app, loan.id) == (0, DisbursementState.SENT)
    async with app.state.db.unit_of_work(tenant.id) as session:
        assert (
            await LoanRepository(session).get(loan.id)
        ).status is LoanStatus.AWAITING_DISBURSEMENT

    rail = CoreBankRail.connect(corebank.url)
    try:
        desk = DisbursementDesk(app.state.db, rail)
        assert await desk.reconcile() == 1
        assert await desk.reconcile() == 0
        again = await desk.disburse(tenant.id, loan.id)
    finally:
        await rail.aclose()
    assert again.state is DisbursementState.SUCCEEDED
    assert again.rail_reference == corebank.bank.transfers[key].transfer_id
    assert len([k for k in corebank.bank.transfers if k == key]) == 1
    assert await payout_counts(app, loan.id) == (1, DisbursementState.SUCCEEDED)
    async with app.state.db.unit_of_work(tenant.id) as session:
        contract = await ContractRepository(session).for_loan(loan.id)
        assert contract.status is ContractStatus.EFFECTIVE
