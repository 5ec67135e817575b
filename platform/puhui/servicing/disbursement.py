"""Disbursement through the payment rail, idempotent end to end (JR/T 0269 9.4).

One intent row per loan (unique loan and key) moves pending → sent → succeeded | failed. The
intent is committed as *sent* before the rail is called and the rail's idempotency key is the
intent's own key, so a retry, a timeout or a crash can only ever re-ask for the same transfer.
An outcome the worker never stored is found again by reconciliation (GET the transfer by key).
Completion posts the ledger entry under a unique event key: one transfer, one posting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import Conflict
from puhui.outbound import OutboundClient, RetryPolicy, UpstreamRejected, UpstreamUnavailable
from puhui.servicing import contracts
from puhui.servicing.ledger import credit, debit, post
from puhui.servicing.limits import occupy_for_disbursement, release_refused_disbursement
from puhui.servicing.models import (
    AccountType,
    ContractStatus,
    Disbursement,
    DisbursementState,
    Loan,
    LoanStatus,
)
from puhui.servicing.repository import ContractRepository, LoanRepository

__all__ = [
    "SEND_LEASE",
    "CoreBankRail",
    "DisbursementDesk",
    "PaymentRail",
    "RailDebit",
    "RailOutcome",
    "RailTransfer",
]

# A sent intent untouched this long belongs to a worker that died: reconcile it.
SEND_LEASE: Final = timedelta(seconds=30)


class RailTransfer(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: str
    idempotency_key: str
    amount_fen: int


class RailDebit(msgspec.Struct, frozen=True, kw_only=True):
    debit_id: str
    idempotency_key: str
    collected_fen: int


class RailOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a transfer attempt established: booked, refused, or unknown (None both)."""

    transfer: RailTransfer | None = None
    refused: str | None = None


class PaymentRail(Protocol):
    """The core-banking payment rail, as servicing uses it."""

    async def transfer(
        self, key: str, amount_fen: int, payee_account: str, reference: str
    ) -> RailOutcome: ...

    async def find_transfer(self, key: str) -> RailTransfer | None: ...

    async def auto_debit(
        self, key: str, amount_fen: int, payer_account: str, reference: str
    ) -> RailDebit: ...


class CoreBankRail:
    """The rail over HTTP to the core-banking system (or its sandbox simulator)."""

    def __init__(self, client: OutboundClient) -> None:
        self._client = client

    @classmethod
    def connect(cls, base_url: str, *, timeout_s: float = 5.0) -> CoreBankRail:
        return cls(
            OutboundClient(
                upstream="corebank",
                base_url=base_url,
                timeout_s=timeout_s,
                retry=RetryPolicy(attempts=3, initial_backoff_s=0.05, max_backoff_s=0.5),
            )
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def transfer(
        self, key: str, amount_fen: int, payee_account: str, reference: str
    ) -> RailOutcome:
        body = msgspec.json.encode(
            {
                "idempotency_key": key,
                "amount_fen": amount_fen,
                "payee_account": payee_account,
                "reference": reference,
            }
        )
        try:
            response = await self._client.request(
                "POST", "/transfers", json_body=body, idempotent=True
            )
        except UpstreamRejected as exc:
            return RailOutcome(refused=f"core banking refused the transfer ({exc.status})")
        except UpstreamUnavailable:
            return RailOutcome()  # outcome unknown: reconcile, never resend blindly
        return RailOutcome(transfer=msgspec.json.decode(response.content, type=RailTransfer))

    async def find_transfer(self, key: str) -> RailTransfer | None:
        try:
            response = await self._client.get(f"/transfers/{key}")
        except UpstreamRejected as exc:
            if exc.status == 404:
                return None
            raise
        return msgspec.json.decode(response.content, type=RailTransfer)

    async def auto_debit(
        self, key: str, amount_fen: int, payer_account: str, reference: str
    ) -> RailDebit:
        body = msgspec.json.encode(
            {
                "idempotency_key": key,
                "amount_fen": amount_fen,
                "payer_account": payer_account,
                "reference": reference,
            }
        )
        response = await self._client.request(
            "POST", "/auto-debits", json_body=body, idempotent=True
        )
        return msgspec.json.decode(response.content, type=RailDebit)


@dataclass(frozen=True, slots=True)
class DisbursementView:
    loan_id: uuid.UUID
    state: DisbursementState
    amount: int
    idempotency_key: str
    rail_reference: str | None


def _view(row: Disbursement) -> DisbursementView:
    return DisbursementView(
        row.loan_id, row.state, row.amount, row.idempotency_key, row.rail_reference
    )


class DisbursementDesk:
    """Runs disbursements; each step is its own unit of work so the intent outlives a crash."""

    def __init__(self, sessions: SessionFactory, rail: PaymentRail) -> None:
        self._sessions = sessions
        self._rail = rail

    async def disburse(
        self, tenant_id: uuid.UUID, loan_id: uuid.UUID, request_key: str | None = None
    ) -> DisbursementView:
        """Pay out a signed loan once, however often and however concurrently it is asked.

        ``request_key`` (the caller's Idempotency-Key) is kept on the intent it creates; the
        intent is one per loan whatever the key, so no key can ever cause a second payout.
        """
        claimed = await self._claim(tenant_id, loan_id, request_key)
        if claimed is None:
            return await self.status(tenant_id, loan_id)
        key, amount, account = claimed
        outcome = await self._rail.transfer(key, amount, account, f"loan {loan_id}")
        if outcome.transfer is None and outcome.refused is None:
            # Unknown: the transfer may or may not be booked; asking by key settles it.
            try:
                found = await self._rail.find_transfer(key)
            except UpstreamUnavailable:
                found = None
            outcome = RailOutcome(transfer=found) if found else outcome
        return await self._record(tenant_id, loan_id, outcome)

    async def status(self, tenant_id: uuid.UUID, loan_id: uuid.UUID) -> DisbursementView:
        async with self._sessions.unit_of_work(tenant_id) as session:
            row = await LoanRepository(session).disbursement(loan_id)
            if row is None:
                raise Conflict("This loan has no disbursement.")
            return _view(row)

    async def _claim(
        self, tenant_id: uuid.UUID, loan_id: uuid.UUID, request_key: str | None = None
    ) -> tuple[str, int, str] | None:
        """Create or take over the intent and commit it as *sent*; None when someone else has it.

        The unified limit is occupied in the same unit of work, before any money moves."""
        try:
            async with self._sessions.unit_of_work(tenant_id) as session:
                loans = LoanRepository(session)
                loan = await loans.get(loan_id)
                contract = await ContractRepository(session).for_loan(loan_id)
                row = await loans.disbursement(loan_id)
                if row is None:
                    if (
                        contract.status is not ContractStatus.SIGNED
                        or loan.status is not LoanStatus.AWAITING_DISBURSEMENT
                    ):
                        raise Conflict("Only a loan with a signed contract can be disbursed.")
                    row = Disbursement(
                        tenant_id=tenant_id,
                        loan_id=loan_id,
                        request_key=request_key,
                        idempotency_key=f"disb-{loan_id.hex}",
                        amount=loan.principal - loan.upfront_fee,
                        payee_account=loan.settlement_account,
                        state=DisbursementState.SENT,
                        attempts=1,
                    )
                    session.add(row)
                    await session.flush()  # the unique intent decides which request pays out
                    await occupy_for_disbursement(session, loan)
                    return row.idempotency_key, row.amount, row.payee_account
                if row.state in (DisbursementState.SUCCEEDED, DisbursementState.FAILED):
                    return None
                if row.state is DisbursementState.SENT and utcnow() - row.updated_at < SEND_LEASE:
                    return None  # another worker is on it right now
                row.state = DisbursementState.SENT
                row.attempts += 1
                await session.flush()
                return row.idempotency_key, row.amount, row.payee_account
        except (IntegrityError, StaleDataError):
            return None  # a concurrent request created or claimed the intent first

    async def _record(
        self, tenant_id: uuid.UUID, loan_id: uuid.UUID, outcome: RailOutcome
    ) -> DisbursementView:
        try:
            async with self._sessions.unit_of_work(tenant_id) as session:
                loans = LoanRepository(session)
                row = await loans.disbursement(loan_id)
                if row is None:  # pragma: no cover - claimed before the call
                    raise Conflict("This loan has no disbursement.")
                if row.state is DisbursementState.SENT:
                    if outcome.transfer is not None:
                        await _complete(
                            session, await loans.get_for_update(loan_id), row, outcome.transfer
                        )
                    elif outcome.refused is not None:
                        await release_refused_disbursement(session, await loans.get(loan_id))
                        row.state = DisbursementState.FAILED
                        row.failure_reason = outcome.refused[:500]
                        row.completed_at = utcnow()
                await session.flush()
                return _view(row)
        except (IntegrityError, StaleDataError):
            return await self.status(tenant_id, loan_id)

    async def reconcile(self) -> int:
        """Settle every intent left *sent* (crash, timeout) by asking the rail by key; resend
        with the same key when the rail never saw it. Returns how many were settled."""
        async with self._sessions.unit_of_work() as session:
            with tenant_bypass(session, "servicing.disbursement.reconcile"):
                pending = [
                    (row.tenant_id, row.loan_id)
                    for row in await LoanRepository(session).disbursements_in(
                        DisbursementState.SENT
                    )
                ]
        settled = 0
        for tenant_id, loan_id in pending:
            async with self._sessions.unit_of_work(tenant_id) as session:
                row = await LoanRepository(session).disbursement(loan_id)
                if row is None or row.state is not DisbursementState.SENT:
                    continue
                key, amount, account = row.idempotency_key, row.amount, row.payee_account
            found = await self._rail.find_transfer(key)
            outcome = (
                RailOutcome(transfer=found)
                if found is not None
                else await self._rail.transfer(key, amount, account, f"loan {loan_id}")
            )
            view = await self._record(tenant_id, loan_id, outcome)
            settled += view.state is not DisbursementState.SENT
        return settled


async def _complete(
    session: AsyncSession, loan: Loan, row: Disbursement, transfer: RailTransfer
) -> None:
    now = utcnow()
    entry = await post(
        session,
        kind="disbursement",
        event_key=f"disbursement:{loan.id}",
        value_date=loan.start_date,
        loan_id=loan.id,
        memo=f"disbursed by transfer {transfer.transfer_id}",
        legs=[
            debit(AccountType.PRINCIPAL_RECEIVABLE, loan.principal),
            credit(AccountType.CUSTOMER_SETTLEMENT, row.amount),
            credit(AccountType.FEE_INCOME, loan.principal - row.amount),
        ],
    )
    row.state = DisbursementState.SUCCEEDED
    row.rail_reference = transfer.transfer_id
    row.journal_entry_id = entry.id
    row.completed_at = now
    loan.status = LoanStatus.ACTIVE
    loan.disbursed_at = now
    contracts.mark_effective(await ContractRepository(session).for_loan(loan.id), now)
