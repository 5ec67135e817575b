"""Servicing rules the controllers and jobs call: opening loans, the contract's journey to
signature, reading loans and their ledger. Never commits: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.errors import Conflict
from puhui.oauth.keys import Keyset
from puhui.servicing import contracts, signing
from puhui.servicing.loans import create_loan, receivables
from puhui.servicing.models import Contract, Loan, LoanStatus, ScheduleLine
from puhui.servicing.offers import LoanOffer
from puhui.servicing.repository import ContractRepository, LoanRepository
from puhui.servicing.schemas import LoanRead, ScheduleLineRead
from puhui.tenancy.subject import AuthSubject
from puhui.webhooks import record_partner_event

__all__ = [
    "ApprovedOffers",
    "loan_read",
    "open_loan",
    "open_loan_from_approval",
    "send_contract",
    "sign_contract",
]


class ApprovedOffers(Protocol):
    """The lending side: the ``LoanOffer`` of an APPROVED application (and nothing else)."""

    async def offer_for(self, session: AsyncSession, application_id: uuid.UUID) -> LoanOffer: ...


async def open_loan(session: AsyncSession, offer: LoanOffer, channel: str) -> tuple[Loan, Contract]:
    """Create the loan, persist its schedule and render its contract (status generated)."""
    loan, schedule = await create_loan(session, offer)
    contract = contracts.generate(session, loan, schedule, channel)
    await session.flush()
    return loan, contract


async def open_loan_from_approval(
    session: AsyncSession, application_id: uuid.UUID, offers: ApprovedOffers, channel: str
) -> Loan:
    """The entry point from lending: one loan per approved application, however often called."""
    existing = await LoanRepository(session).by_application(application_id)
    if existing is not None:
        return existing
    offer = await offers.offer_for(session, application_id)
    if offer.application_id != application_id:
        raise Conflict("The offer does not belong to this application.")
    loan, _ = await open_loan(session, offer, channel)
    return loan


async def send_contract(session: AsyncSession, loan_id: uuid.UUID) -> tuple[Contract, str]:
    """Send the contract to the borrower and issue the one-time signing code."""
    contract = await ContractRepository(session).for_loan(loan_id)
    contracts.send(contract)
    code = await signing.issue_code(session, contract)
    await session.flush()
    return contract, code


async def sign_contract(
    session: AsyncSession,
    loan_id: uuid.UUID,
    *,
    code: str,
    confirmed_sha256: str,
    signer: signing.SignerContext,
    keyset: Keyset,
    subject: AuthSubject,
) -> Contract:
    """Sign (JR/T 0269 9.4): the loan then awaits disbursement; audited and told to the partner."""
    loan = await LoanRepository(session).get(loan_id)
    contract = await ContractRepository(session).for_loan(loan_id)
    await signing.sign(
        session,
        contract,
        loan,
        code=code,
        confirmed_sha256=confirmed_sha256,
        signer=signer,
        keyset=keyset,
    )
    loan.status = LoanStatus.AWAITING_DISBURSEMENT
    record_event(
        session,
        "contract.signed",
        subject=subject,
        target_tenant_id=loan.tenant_id,
        target=f"contract:{contract.id}",
        client_ip=signer.ip,
        details={"document_sha256": contract.document_sha256, "loan_id": str(loan.id)},
    )
    record_partner_event(
        session,
        loan.tenant_id,
        "loan.contract_signed",
        f"loan:{loan.id}",
        {"loan_id": str(loan.id), "contract_id": str(contract.id)},
    )
    await session.flush()
    return contract


def loan_read(loan: Loan, lines: Sequence[ScheduleLine]) -> LoanRead:
    owed = {r.number: r for r in receivables(lines)}
    return LoanRead(
        id=loan.id,
        status=loan.status.value,
        product_code=loan.product_code,
        product_version=loan.product_version,
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        apr=loan.apr,
        term_months=loan.term_months,
        method=loan.method,
        start_date=loan.start_date,
        maturity_date=loan.maturity_date,
        dpd=loan.dpd,
        bucket=loan.bucket,
        loan_class=loan.loan_class,
        outstanding_principal=sum(r.principal for r in owed.values())
        if loan.status is not LoanStatus.AWAITING_SIGNATURE
        else loan.principal,
        schedule=[
            ScheduleLineRead(
                number=line.number,
                due_date=line.due_date,
                principal=line.principal,
                interest=line.interest,
                fees=line.fees,
                penalty=line.penalty,
                paid=line.paid_principal + line.paid_interest + line.paid_fees + line.paid_penalty,
                owed=owed[line.number].total,
            )
            for line in lines
        ],
        version=loan.version,
    )
