"""Servicing rules the controllers and jobs call: opening loans, the contract's journey to
signature, reading loans and their ledger. Never commits: the caller's unit of work does."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Protocol

import anyio.to_thread
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.config import Settings
from puhui.db.session import SessionFactory
from puhui.errors import Conflict
from puhui.notify import Notifier
from puhui.oauth.keys import Keyset
from puhui.servicing import contracts, signing
from puhui.servicing.limits import limit_of
from puhui.servicing.loans import create_loan, receivables
from puhui.servicing.models import Contract, Loan, LoanStatus, ScheduleLine
from puhui.servicing.offers import LoanOffer
from puhui.servicing.pdf import PdfUnavailable, pdf_renderer, render_pdf
from puhui.servicing.repository import ContractRepository, LoanRepository
from puhui.servicing.schemas import LoanRead, ScheduleLineRead
from puhui.tenancy.subject import AuthSubject
from puhui.webhooks import record_partner_event

__all__ = [
    "ApprovedOffers",
    "loan_read",
    "open_loan",
    "open_loan_from_approval",
    "render_contract_pdf",
    "send_contract",
    "sign_contract",
]

log = logging.getLogger("puhui.servicing")


class ApprovedOffers(Protocol):
    """The lending side: the ``LoanOffer`` of an APPROVED application (and nothing else)."""

    async def offer_for(self, session: AsyncSession, application_id: uuid.UUID) -> LoanOffer: ...


async def open_loan(session: AsyncSession, offer: LoanOffer, channel: str) -> tuple[Loan, Contract]:
    """Create the loan, persist its schedule and render its contract (status generated).

    The loan names the enterprise's unified credit limit, when it has one, so its disbursement
    occupies it and its repayments give it back."""
    if offer.credit_limit_id is None:
        limit_id = await limit_of(session, offer.enterprise_uscc)
        if limit_id is not None:
            offer = msgspec.structs.replace(offer, credit_limit_id=limit_id)
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


async def send_contract(
    session: AsyncSession, notifier: Notifier, loan_id: uuid.UUID
) -> tuple[Contract, signing.CodeSent]:
    """Send the contract to the borrower and a one-time signing code to the borrower's phone."""
    loan = await LoanRepository(session).get(loan_id)
    contract = await ContractRepository(session).for_loan(loan_id)
    contracts.send(contract)
    sent = await signing.issue_code(session, notifier, contract, loan)
    await session.flush()
    return contract, sent


async def render_contract_pdf(html: str) -> bytes:
    """The PDF rendering of a contract's HTML, off the event loop (PdfUnavailable if unfaithful)."""
    return await anyio.to_thread.run_sync(render_pdf, html)


async def _sealed_pdf(html: str) -> tuple[bytes | None, str | None]:
    """The PDF to seal with the signature, or None and why: signing never waits on a renderer."""
    try:
        return await render_contract_pdf(html), None
    except PdfUnavailable as exc:
        return None, exc.detail
    except Exception as exc:  # a renderer fault must not block a signature on the HTML
        log.exception("contract PDF rendering failed")
        return None, f"rendering failed ({type(exc).__name__})"


async def sign_contract(
    session: AsyncSession,
    sessions: SessionFactory,
    settings: Settings,
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
    code_id = signing.check_signable(contract, loan, signer, confirmed_sha256)
    await signing.verify_code(sessions, settings, loan.customer_id, code_id, code)
    pdf, unavailable = await _sealed_pdf(contract.document)
    signing.seal(
        contract,
        loan,
        signer=signer,
        code_id=code_id,
        keyset=keyset,
        pdf=pdf,
        pdf_renderer=pdf_renderer() if pdf is not None else None,
        pdf_unavailable=unavailable,
    )
    loan.status = LoanStatus.AWAITING_DISBURSEMENT
    record_event(
        session,
        "contract.signed",
        subject=subject,
        target_tenant_id=loan.tenant_id,
        target=f"contract:{contract.id}",
        client_ip=signer.ip,
        details={
            "document_sha256": contract.document_sha256,
            "pdf_sha256": contract.pdf_sha256,
            "loan_id": str(loan.id),
        },
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
