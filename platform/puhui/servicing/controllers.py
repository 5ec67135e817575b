"""HTTP for servicing: loans, contracts and signing, disbursement, repayments, the ledger,
warnings and their disposal. Service class 08 is contracts and loans, 09 repayments."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, Router, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from sqlalchemy.exc import IntegrityError

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.db.session import tenant_bypass
from puhui.deps import Db, Subject
from puhui.errors import Conflict, FieldError, InvalidRequest, ProblemError, register_problem
from puhui.gateway.catalogue import FieldClass, declare
from puhui.lending.daycount import DayCount
from puhui.lending.idempotency import require_key
from puhui.lending.schedules import PrepaymentOption, RepaymentMethod
from puhui.notify import load_notifier
from puhui.servicing import service
from puhui.servicing.disbursement import CoreBankRail, DisbursementDesk
from puhui.servicing.early_warning import transition_disposal
from puhui.servicing.ledger import trial_balance
from puhui.servicing.limits import UnifiedLimit
from puhui.servicing.models import Contract, ContractStatus, Disposal, DisposalState, Repayment
from puhui.servicing.offers import ApplicationOffers, LoanOffer
from puhui.servicing.pdf import PDF_MEDIA_TYPE
from puhui.servicing.repayments import Overpayment, receive
from puhui.servicing.repository import ContractRepository, LoanRepository, WarningRepository
from puhui.servicing.schemas import (
    ContractRead,
    ContractSent,
    ContractSign,
    DisbursementRead,
    DisposalRead,
    DisposalTransition,
    DocumentVerification,
    DocumentVerify,
    LoanFromApplication,
    LoanOpen,
    LoanRead,
    PostingRead,
    RepaymentCreate,
    RepaymentRead,
    TrialBalanceLineRead,
    TrialBalanceRead,
    WarningRead,
)
from puhui.servicing.signing import (
    CODE_TTL,
    DOCUMENT_MEDIA_TYPE,
    SignerContext,
    signing_keyset,
    verify_document,
)
from puhui.tenancy.repository import TenantRepository

__all__ = ["servicing_router"]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
StateFilter = Annotated[
    DisposalState | None, QueryParameter(name="state", description="Only disposals in this state")
]
RequestKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="Optional; 8-255 of [A-Za-z0-9._:-]. One payout per loan whatever the key.",
    ),
]
_ACCOUNT_FIELDS: Mapping[str, tuple[FieldClass, str]] = {}
_HTML: Final = "text/html"
NOT_ACCEPTABLE = register_problem(
    "not-acceptable",
    "Not acceptable",
    406,
    "The contract is available as text/html (the signed document) or application/pdf.",
)


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def contract_read(c: Contract) -> ContractRead:
    return ContractRead(
        id=c.id,
        loan_id=c.loan_id,
        status=c.status.value,
        template=c.template,
        document_sha256=c.document_sha256,
        signed_at=c.signed_at,
        effective_at=c.effective_at,
        evidence=c.evidence,
        evidence_jws=c.evidence_jws,
    )


def repayment_read(r: Repayment) -> RepaymentRead:
    return RepaymentRead(
        id=r.id,
        loan_id=r.loan_id,
        channel=r.channel,
        amount=r.amount,
        received_on=r.received_on,
        allocated=r.allocated,
        prepaid_principal=r.prepaid_principal,
        to_suspense=r.to_suspense,
        lines=list(r.lines),
    )


def disposal_read(d: Disposal) -> DisposalRead:
    return DisposalRead(
        id=d.id,
        tenant_id=d.tenant_id,
        loan_id=d.loan_id,
        warning_id=d.warning_id,
        action=d.action,
        state=d.state.value,
        outcome=d.outcome,
        version=d.version,
    )


class LoanController(Controller):
    """A partner's loans: the loan with its schedule, the contract and its signature, payout."""

    path = "/api/v1/loans"

    @get(
        "/{loan_id:uuid}",
        **declare(
            operation_id="GetLoan",
            summary="A loan with its repayment schedule and delinquency status",
            tag="Loans",
            level="A2",
            service="08",
            sequence=1,
            audience="member",
            resource="loan",
        ),
    )
    async def get_loan(self, db: Db, subject: Subject, loan_id: FromPath[uuid.UUID]) -> LoanRead:
        loans = LoanRepository(db)
        loan = await loans.get(loan_id)
        return service.loan_read(loan, await loans.lines(loan_id))

    @get(
        "/{loan_id:uuid}/contract",
        **declare(
            operation_id="GetLoanContract",
            summary="The loan contract's status, hash and signature evidence",
            tag="Loans",
            level="A2",
            service="08",
            sequence=2,
            audience="member",
            resource="loan",
        ),
    )
    async def get_contract(
        self, db: Db, subject: Subject, loan_id: FromPath[uuid.UUID]
    ) -> ContractRead:
        return contract_read(await ContractRepository(db).for_loan(loan_id))

    @get(
        "/{loan_id:uuid}/contract/document",
        media_type="text/html",
        **declare(
            operation_id="DownloadLoanContract",
            summary="The exact contract document: HTML (signed), or its PDF with Accept",
            description=(
                "Content negotiation: `Accept: text/html` (default) answers the HTML document "
                "that is hashed and signed; `Accept: application/pdf` its PDF rendering (the "
                "one sealed at signing once signed). 406 for any other type; 503 when this "
                "server cannot render the PDF faithfully."
            ),
            tag="Loans",
            level="A2",
            service="08",
            sequence=3,
            audience="member",
            resource="loan",
            errors=(503,),  # also 406: the catalogue has no entry for it yet
        ),
    )
    async def download_contract(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        loan_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        contract = await ContractRepository(db).for_loan(loan_id)
        wanted = request.accept.best_match([_HTML, PDF_MEDIA_TYPE])
        if wanted is None:
            raise ProblemError(problem=NOT_ACCEPTABLE)
        headers = {"X-Document-SHA256": contract.document_sha256, "Vary": "Accept"}
        if wanted == _HTML:
            return Response(
                content=contract.document.encode("utf-8"),
                media_type=DOCUMENT_MEDIA_TYPE,
                headers=headers
                | {"Content-Disposition": f'attachment; filename="contract-{loan_id}.html"'},
            )
        pdf = await ContractRepository(db).pdf_of(contract.id) if contract.pdf_sha256 else None
        if pdf is None and contract.status in (ContractStatus.SIGNED, ContractStatus.EFFECTIVE):
            # Signed where no PDF could be sealed: a fresh rendering, not covered by the evidence.
            headers["X-PDF-Sealed"] = "false"
        pdf = pdf if pdf is not None else await service.render_contract_pdf(contract.document)
        if contract.pdf_sha256:
            headers["X-PDF-SHA256"] = contract.pdf_sha256
        return Response(
            content=pdf,
            media_type=PDF_MEDIA_TYPE,
            headers=headers
            | {"Content-Disposition": f'attachment; filename="contract-{loan_id}.pdf"'},
        )

    @post(
        "/{loan_id:uuid}/contract/send",
        status_code=200,
        **declare(
            operation_id="SendLoanContract",
            summary="Send the contract; a one-time code goes to the borrower's phone",
            tag="Loans",
            level="A2",
            service="08",
            sequence=4,
            audience="member",
            roles=("owner", "admin", "developer"),
            resource="loan",
            errors=(409,),
        ),
    )
    async def send_contract(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        loan_id: FromPath[uuid.UUID],
    ) -> ContractSent:
        notifier = load_notifier(_settings(request))
        contract, sent = await service.send_contract(db, notifier, loan_id)
        return ContractSent(
            status=contract.status.value,
            code_expires_in_seconds=int(CODE_TTL.total_seconds()),
            sent_to=sent.sent_to,
        )

    @post(
        "/{loan_id:uuid}/contract/signature",
        status_code=200,
        **declare(
            operation_id="SignLoanContract",
            summary="The borrower signs the contract with the one-time code (JR/T 0269 9.4)",
            tag="Loans",
            level="A2",
            service="08",
            sequence=5,
            audience="member",
            roles=("owner", "admin", "developer"),
            resource="loan",
            errors=(401, 409, 423),
        ),
    )
    async def sign_contract(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        loan_id: FromPath[uuid.UUID],
        data: JSONBody[ContractSign],
    ) -> ContractRead:
        loan = await LoanRepository(db).get(loan_id)
        signer = SignerContext(
            customer_id=subject.customer_id or loan.customer_id,
            ip=_ip(request),
            device=data.device,
            consent_id=subject.consent_id or loan.consent_id,
        )
        contract = await service.sign_contract(
            db,
            request.app.state.db,
            _settings(request),
            loan_id,
            code=data.code,
            confirmed_sha256=data.document_sha256,
            signer=signer,
            keyset=signing_keyset(_settings(request).key_dir),
            subject=subject,
        )
        return contract_read(contract)

    @post(
        "/{loan_id:uuid}/disbursement",
        status_code=200,
        **declare(
            operation_id="DisburseLoan",
            summary="Pay out a signed loan (idempotent: repeats never pay twice)",
            tag="Loans",
            level="A2",
            service="08",
            sequence=6,
            audience="member",
            roles=("owner", "admin", "developer"),
            resource="loan",
            errors=(409,),
        ),
    )
    async def disburse(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        loan_id: FromPath[uuid.UUID],
        idempotency_key: RequestKey = None,
    ) -> DisbursementRead:
        # The desk works in its own short units of work (404 for another tenant's loan); the
        # request's own session stays unused, so concurrent retries never hold two connections.
        # The pipeline audits the call; the intent row and the ledger entry record the payout.
        key = require_key(idempotency_key) if idempotency_key is not None else None
        rail = CoreBankRail.connect(_settings(request).corebank_url)
        try:
            view = await DisbursementDesk(request.app.state.db, rail).disburse(
                subject.tenant_id, loan_id, key
            )
        finally:
            await rail.aclose()
        return DisbursementRead(
            loan_id=view.loan_id,
            state=view.state.value,
            amount=view.amount,
            rail_reference=view.rail_reference,
        )

    @get(
        "/{loan_id:uuid}/ledger",
        **declare(
            operation_id="ListLoanPostings",
            summary="Every ledger posting of a loan",
            tag="Loans",
            level="A2",
            service="08",
            sequence=7,
            audience="member",
            resource="loan",
        ),
    )
    async def ledger(
        self, db: Db, subject: Subject, loan_id: FromPath[uuid.UUID]
    ) -> list[PostingRead]:
        loans = LoanRepository(db)
        await loans.get(loan_id)
        return [
            PostingRead(
                entry_id=e.id,
                kind=e.kind,
                value_date=e.value_date,
                account=p.account.value,
                debit=p.debit,
                credit=p.credit,
            )
            for e, p in await loans.entries(loan_id)
        ]

    @get(
        "/{loan_id:uuid}/warnings",
        **declare(
            operation_id="ListLoanWarnings",
            summary="Post-loan early warnings on a loan and their disposal (JR/T 0269 9.5)",
            tag="Loans",
            level="A2",
            service="08",
            sequence=8,
            audience="member",
            resource="loan",
        ),
    )
    async def warnings(
        self, db: Db, subject: Subject, loan_id: FromPath[uuid.UUID]
    ) -> list[WarningRead]:
        await LoanRepository(db).get(loan_id)
        return [
            WarningRead(
                id=w.id,
                loan_id=w.loan_id,
                rule=w.rule,
                severity=w.severity,
                action=w.action,
                detail=w.detail,
                fired_at=w.fired_at,
                disposal_id=d.id,
                disposal_state=d.state.value,
            )
            for w, d in await WarningRepository(db).for_loan(loan_id)
        ]


class RepaymentController(Controller):
    path = "/api/v1/loans"

    @post(
        "/{loan_id:uuid}/repayments",
        **declare(
            operation_id="CreateRepayment",
            summary="Record a repayment received; overpayment to suspense or prepayment",
            tag="Repayments",
            level="A2",
            service="09",
            sequence=1,
            audience="member",
            roles=("owner", "admin", "developer"),
            resource="loan",
            errors=(409,),
        ),
    )
    async def create(
        self,
        db: Db,
        subject: Subject,
        loan_id: FromPath[uuid.UUID],
        data: JSONBody[RepaymentCreate],
    ) -> RepaymentRead:
        loan = await LoanRepository(db).get_for_update(loan_id)
        repayment = await receive(
            db,
            loan,
            amount=data.amount_fen,
            received_on=utcnow().date(),
            idempotency_key=f"{loan_id.hex}:{data.idempotency_key}",
            channel="counter",
            overpayment=Overpayment(data.overpayment),
            option=PrepaymentOption(data.prepayment_option),
            releaser=UnifiedLimit(),
        )
        return repayment_read(repayment)

    @get(
        "/{loan_id:uuid}/repayments",
        **declare(
            operation_id="ListRepayments",
            summary="Repayments received on a loan and how each was applied",
            tag="Repayments",
            level="A2",
            service="09",
            sequence=2,
            audience="member",
            resource="loan",
        ),
    )
    async def list_repayments(
        self, db: Db, subject: Subject, loan_id: FromPath[uuid.UUID]
    ) -> list[RepaymentRead]:
        loans = LoanRepository(db)
        await loans.get(loan_id)
        return [repayment_read(r) for r in await loans.repayments(loan_id)]


class LoanOriginationController(Controller):
    """Lending hands over: an approved application becomes a loan with its contract."""

    path = "/api/v1/applications"

    @post(
        "/{application_id:uuid}/loan",
        **declare(
            operation_id="CreateLoanFromApplication",
            summary="Generate the loan and its contract from an approved application",
            description=(
                "The approved amount, rate, term and method, the product version's fees and "
                "the borrower's settlement account (given here: the application has none) make "
                "the loan; its contract is rendered in state `generated`. Idempotent per "
                "application: asking again answers the same loan."
            ),
            tag="Loans",
            level="A2",
            service="08",
            sequence=10,
            audience="client",
            scopes=("applications",),
            resource="application",
            errors=(404, 409),
        ),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        application_id: FromPath[uuid.UUID],
        data: JSONBody[LoanFromApplication],
    ) -> LoanRead:
        tenant = await TenantRepository(db).get(subject.tenant_id)
        try:
            loan = await service.open_loan_from_approval(
                db, application_id, ApplicationOffers(data.settlement_account), tenant.name
            )
        except ValueError as exc:  # terms the schedule maths refuses
            raise InvalidRequest(errors=[FieldError("application", str(exc))]) from None
        except IntegrityError:
            raise Conflict("A loan for this application is being created; ask again.") from None
        record_event(
            db,
            "loan.opened",
            subject=subject,
            target_tenant_id=loan.tenant_id,
            target=f"loan:{loan.id}",
            client_ip=_ip(request),
            details={"application_id": str(application_id)},
        )
        return service.loan_read(loan, await LoanRepository(db).lines(loan.id))


class ContractVerificationController(Controller):
    path = "/api/v1/contracts"

    @post(
        "/verification",
        status_code=200,
        **declare(
            operation_id="VerifyContractDocument",
            summary="Check a contract (HTML, or its sealed PDF in base64) against its evidence",
            tag="Loans",
            level="A1",
            service="08",
            sequence=9,
            audience="public",
        ),
    )
    async def verify(
        self, request: Request[Any, Any, Any], data: JSONBody[DocumentVerify]
    ) -> DocumentVerification:
        outcome = verify_document(
            _document_of(data), data.evidence_jws, signing_keyset(_settings(request).key_dir)
        )
        evidence = outcome.evidence or {}
        return DocumentVerification(
            valid=outcome.valid,
            reason=outcome.reason,
            contract_id=str(evidence["contract_id"]) if "contract_id" in evidence else None,
            signed_at=str(evidence["signed_at"]) if "signed_at" in evidence else None,
        )


class OperatorServicingController(Controller):
    """Bank staff: opening sandbox loans from offers, the disposal workbench, the trial balance."""

    path = "/api/v1/operator/servicing"

    @post(
        "/loans",
        **declare(
            operation_id="OperatorOpenLoan",
            summary="Open a loan from an approved offer for a partner channel",
            tag="Operator",
            level="A2",
            service="10",
            sequence=50,
            audience="operator",
            roles=("operator",),
            errors=(404, 409),
        ),
    )
    async def open_loan(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject, data: JSONBody[LoanOpen]
    ) -> LoanRead:
        try:
            offer = _offer_from(data)
        except ValueError as exc:  # terms the schedule maths refuses (fees, rate, term)
            raise InvalidRequest(errors=[FieldError("body", str(exc))]) from None
        with tenant_bypass(db, "servicing.operator.open_loan"):
            tenant = await TenantRepository(db).get(data.tenant_id)
            try:
                loan, _ = await service.open_loan(db, offer, tenant.name)
            except ValueError as exc:
                raise InvalidRequest(errors=[FieldError("body", str(exc))]) from None
            record_event(
                db,
                "loan.opened",
                subject=subject,
                target_tenant_id=tenant.id,
                target=f"loan:{loan.id}",
                client_ip=_ip(request),
                reason="sandbox loan from an approved offer",
            )
            return service.loan_read(loan, await LoanRepository(db).lines(loan.id))

    @get(
        "/disposals",
        **declare(
            operation_id="OperatorListDisposals",
            summary="The early-warning disposal workbench",
            tag="Operator",
            level="A2",
            service="10",
            sequence=51,
            audience="operator",
        ),
    )
    async def list_disposals(
        self,
        db: Db,
        subject: Subject,
        limit: Limit = 50,
        offset: Offset = 0,
        disposal_state: StateFilter = None,
    ) -> list[DisposalRead]:
        with tenant_bypass(db, "servicing.operator.disposals"):
            rows = await WarningRepository(db).disposals(
                state=disposal_state.value if disposal_state else None, limit=limit, offset=offset
            )
            record_event(db, "disposal.list", subject=subject, reason="disposal workbench")
            return [disposal_read(d) for d in rows]

    @post(
        "/disposals/{disposal_id:uuid}/transitions",
        status_code=200,
        **declare(
            operation_id="OperatorTransitionDisposal",
            summary="Move a disposal on (in progress, completed, dismissed) with its outcome",
            tag="Operator",
            level="A2",
            service="10",
            sequence=52,
            audience="operator",
            roles=("operator", "risk_officer"),
            errors=(404, 409),
        ),
    )
    async def transition(
        self,
        db: Db,
        subject: Subject,
        disposal_id: FromPath[uuid.UUID],
        data: JSONBody[DisposalTransition],
    ) -> DisposalRead:
        with tenant_bypass(db, "servicing.operator.disposal"):
            disposal = await WarningRepository(db).disposal(disposal_id)
            if disposal.version != data.version:
                raise Conflict("The disposal changed since you read it; reload it.")
            transition_disposal(
                db, disposal, DisposalState(data.state), outcome=data.outcome, subject=subject
            )
            await db.flush()
            return disposal_read(disposal)

    @get(
        "/trial-balance",
        **declare(
            operation_id="OperatorTrialBalance",
            summary="The servicing ledger's trial balance across every partner",
            tag="Operator",
            level="A2",
            service="10",
            sequence=53,
            audience="operator",
        ),
    )
    async def get_trial_balance(self, db: Db, subject: Subject) -> TrialBalanceRead:
        with tenant_bypass(db, "servicing.operator.trial_balance"):
            tb = await trial_balance(db)
            record_event(db, "ledger.trial_balance", subject=subject, reason="trial balance")
        return TrialBalanceRead(
            balanced=tb.balanced,
            total_debit=tb.total_debit,
            total_credit=tb.total_credit,
            entries=tb.entries,
            lines=[
                TrialBalanceLineRead(
                    account=line.account.value,
                    debit=line.debit,
                    credit=line.credit,
                    balance=line.balance,
                )
                for line in tb.lines
            ],
        )


def _document_of(data: DocumentVerify) -> str | bytes:
    """The HTML text, or the PDF's bytes: exactly one of the two fields."""
    if (data.document is None) == (data.document_base64 is None):
        raise InvalidRequest(
            errors=[FieldError("body", "send exactly one of document and document_base64")]
        )
    if data.document is not None:
        return data.document
    try:
        return base64.b64decode(data.document_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(errors=[FieldError("document_base64", "not valid base64")]) from None


def _offer_from(data: LoanOpen) -> LoanOffer:
    """The offer an operator opens a sandbox loan with; starts today."""
    offer = LoanOffer(
        tenant_id=data.tenant_id,
        customer_id=data.customer_id,
        enterprise_uscc=data.enterprise_uscc,
        enterprise_name=data.enterprise_name,
        settlement_account=data.settlement_account,
        product_code=data.product_code,
        product_version=data.product_version,
        principal=data.principal_fen,
        annual_rate=Decimal(data.annual_rate),
        term_months=data.term_months,
        method=RepaymentMethod(data.method),
        day_count=DayCount(data.day_count),
        start_date=utcnow().date(),
        instalment_fee=data.instalment_fee_fen,
        upfront_fee=data.upfront_fee_fen,
        revolving=data.revolving,
        consent_id=data.consent_id,
        monitoring_consent_until=data.monitoring_consent_until,
    )
    offer.terms()  # LoanTerms validates term, rate and fees
    return offer


def servicing_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            LoanController,
            RepaymentController,
            LoanOriginationController,
            ContractVerificationController,
            OperatorServicingController,
        ],
    )
