"""Loan applications (JR/T 0269 8.4.2): standard fields, data gating, decision, retention.

draft → collecting_data → data_ready → under_decision → approved | manual_review | declined, and
withdrawn / expired for an application still open. Illegal moves answer 409. Every change is an
`application.*` partner event; a decline is kept as a lead (8.4.2 d).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.errors import Conflict, FieldError, InvalidRequest
from puhui.lending.matching import Need, match_products
from puhui.lending.models import Application, ApplicationStatus, Lead, LeadStatus
from puhui.lending.offers import OfferService, require_consent_for
from puhui.lending.products import ProductSpec, to_decision_product
from puhui.lending.repository import ApplicationRepository, LeadRepository
from puhui.lending.schedules import RepaymentMethod
from puhui.lending.service import FeatureLookup, ProductCatalogue
from puhui.risk.decision import DecisionRecord, Route
from puhui.risk.fraud import normalise_address, normalise_bank_account
from puhui.risk.inputs import sources_of
from puhui.risk.models import CreditDecision, ReviewCase, ReviewStatus
from puhui.risk.rules import Action, Category
from puhui.risk.service import (
    CreditLimitService,
    DecisionService,
    IdentityEvidence,
    customer_capacity,
)
from puhui.tenancy.models import Tenant
from puhui.tenancy.subject import AuthSubject
from puhui.webhooks import record_partner_event

__all__ = [
    "APPLICATION_TRANSITIONS",
    "ApplicationDraft",
    "ApplicationService",
    "approve_application",
    "decline_application",
    "move_application",
]

_OPEN: Final = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.COLLECTING_DATA,
    ApplicationStatus.DATA_READY,
)
APPLICATION_TRANSITIONS: Final[dict[ApplicationStatus, frozenset[ApplicationStatus]]] = {
    ApplicationStatus.DRAFT: frozenset(
        {ApplicationStatus.COLLECTING_DATA, ApplicationStatus.WITHDRAWN, ApplicationStatus.EXPIRED}
    ),
    ApplicationStatus.COLLECTING_DATA: frozenset(
        {ApplicationStatus.DATA_READY, ApplicationStatus.WITHDRAWN, ApplicationStatus.EXPIRED}
    ),
    ApplicationStatus.DATA_READY: frozenset(
        {ApplicationStatus.UNDER_DECISION, ApplicationStatus.WITHDRAWN, ApplicationStatus.EXPIRED}
    ),
    ApplicationStatus.UNDER_DECISION: frozenset(
        {ApplicationStatus.APPROVED, ApplicationStatus.MANUAL_REVIEW, ApplicationStatus.DECLINED}
    ),
    # 9.2.2 c: a reviewer approves, declines, or returns the file for more information.
    ApplicationStatus.MANUAL_REVIEW: frozenset(
        {
            ApplicationStatus.APPROVED,
            ApplicationStatus.DECLINED,
            ApplicationStatus.COLLECTING_DATA,
            ApplicationStatus.WITHDRAWN,
        }
    ),
}
_VALIDITY: Final = timedelta(days=30)
# Hard declines are not retained: no other product is suggested to a sanctioned or fraudulent party.
_NOT_RETAINED: Final = frozenset({Category.AML_CFT, Category.ANTI_FRAUD})


class ApplicationDraft:
    """The standardised fields of 8.4.2 a, already validated by the wire schema."""

    def __init__(
        self,
        *,
        uscc: str,
        enterprise_name: str,
        legal_rep_name: str,
        purpose: str,
        amount_fen: int,
        term_months: int,
        repayment_method: RepaymentMethod,
        product_code: str,
        contact_name: str,
        contact_phone: str,
        offer_id: uuid.UUID | None = None,
        device_id: str | None = None,
        customer_ip: str | None = None,
        business_address: str | None = None,
        bank_account: str | None = None,
    ) -> None:
        self.uscc = uscc
        self.enterprise_name = enterprise_name
        self.legal_rep_name = legal_rep_name
        self.purpose = purpose
        self.amount_fen = amount_fen
        self.term_months = term_months
        self.repayment_method = repayment_method
        self.product_code = product_code
        self.contact_name = contact_name
        self.contact_phone = contact_phone
        self.offer_id = offer_id
        self.device_id = device_id
        self.customer_ip = customer_ip
        self.business_address = business_address
        self.bank_account = bank_account


def move_application(
    session: AsyncSession, application: Application, to: ApplicationStatus, reason: str = ""
) -> None:
    """The one place an application changes state; records the partner event."""
    if to not in APPLICATION_TRANSITIONS.get(application.status, frozenset()):
        raise Conflict(f"A {application.status.value} application cannot become {to.value}.")
    application.status = to
    application.status_reason = reason or None
    record_partner_event(
        session,
        application.tenant_id,
        f"application.{to.value}",
        f"application:{application.id}",
        {"application_id": str(application.id), "status": to.value, "reason": reason},
    )


async def approve_application(
    session: AsyncSession, application: Application, amount_fen: int, record: DecisionRecord
) -> None:
    """Occupy the unified limit and approve; over-crediting declines instead (9.3.1)."""
    try:
        await CreditLimitService(session).occupy_for_approval(
            application.uscc,
            application.product_code,
            customer_capacity(record),
            amount_fen,
            partner_tenant_id=application.tenant_id,
            reference=str(application.id),
        )
    except Conflict as exc:
        await decline_application(session, application, f"LIMIT_UNIFIED_EXHAUSTED: {exc.detail}")
        return
    application.approved_amount_fen = amount_fen
    application.annual_rate = None if record.annual_rate is None else str(record.annual_rate)
    move_application(session, application, ApplicationStatus.APPROVED)


async def decline_application(
    session: AsyncSession,
    application: Application,
    reason: str,
    record: DecisionRecord | None = None,
) -> None:
    """Decline and keep the customer: other fitting products, else an account manager (8.4.2 d)."""
    move_application(session, application, ApplicationStatus.DECLINED, reason)
    if record is not None and any(
        hit.action is Action.DECLINE and hit.category in _NOT_RETAINED for hit in record.hits
    ):
        return
    tenant = await session.get(Tenant, application.tenant_id)
    need = Need(
        amount_fen=application.amount_fen,
        term_months=application.term_months,
        channel=tenant.code if tenant is not None else None,
    )
    others = [
        spec
        for _, spec in await ProductCatalogue(session).in_force()
        if spec.code != application.product_code
    ]
    suggested = [match.code for match in match_products(others, need)]
    LeadRepository(session).add(
        Lead(
            tenant_id=application.tenant_id,
            uscc=application.uscc,
            enterprise_name=application.enterprise_name,
            application_id=application.id,
            decision_id=application.decision_id,
            reason=reason[:500],
            referral="alternative_products" if suggested else "account_manager",
            suggested_products=suggested,
            status=LeadStatus.OPEN,
        )
    )


class ApplicationService:
    """Applications of one partner's customers."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.applications = ApplicationRepository(session)

    async def create(self, draft: ApplicationDraft) -> Application:
        await require_consent_for(self.session, self.subject, draft.uscc)
        spec = await ProductCatalogue(self.session).current(draft.product_code)
        tenant = await self.session.get(Tenant, self.subject.tenant_id)
        if tenant is None or tenant.code not in spec.partner_channels:
            raise InvalidRequest(
                errors=[FieldError("product_code", "not offered through this channel")]
            )
        _check_against(spec, draft)
        if draft.offer_id is not None:
            await OfferService(self.session, self.subject).usable(draft.offer_id, draft.uscc)
        application = self.applications.add(
            Application(
                tenant_id=self.subject.tenant_id,
                client_id=self.subject.client_id,
                consent_id=self.subject.consent_id,
                customer_id=self.subject.customer_id,
                uscc=draft.uscc,
                enterprise_name=draft.enterprise_name,
                legal_rep_name=draft.legal_rep_name,
                purpose=draft.purpose,
                amount_fen=draft.amount_fen,
                term_months=draft.term_months,
                repayment_method=draft.repayment_method.value,
                product_code=spec.code,
                product_version=spec.version,
                offer_id=draft.offer_id,
                contact_name=draft.contact_name,
                device_id=draft.device_id,
                client_ip=draft.customer_ip,
                business_address=draft.business_address,
                address_key=normalise_address(draft.business_address) or None
                if draft.business_address
                else None,
                status=ApplicationStatus.DRAFT,
                missing_sources=[],
                expires_at=utcnow() + _VALIDITY,
            )
        )
        application.contact_phone = draft.contact_phone
        if draft.bank_account:  # normalised first, so the blind index matches across spellings
            application.bank_account = normalise_bank_account(draft.bank_account)
        await self.applications.flush()
        record_partner_event(
            self.session,
            application.tenant_id,
            "application.draft",
            f"application:{application.id}",
            {"application_id": str(application.id), "status": "draft", "reason": ""},
        )
        return application

    async def get(self, application_id: uuid.UUID) -> Application:
        application = await self.applications.get(application_id)
        if application.status in _OPEN and (application.expires_at <= utcnow()):
            move_application(self.session, application, ApplicationStatus.EXPIRED, "not completed")
        return application

    async def page(self, limit: int, offset: int) -> Sequence[Application]:
        return await self.applications.list(limit=limit, offset=offset)

    async def withdraw(self, application_id: uuid.UUID, reason: str) -> Application:
        application = await self.get(application_id)
        under_review = application.status is ApplicationStatus.MANUAL_REVIEW
        move_application(self.session, application, ApplicationStatus.WITHDRAWN, reason)
        case = await _review_case(self.session, application.id) if under_review else None
        if case is not None:  # leave the risk officer's queue
            case.status = ReviewStatus.DECLINED
            case.resolution_reason = "withdrawn by the applicant"
        return application

    async def submit(
        self, application_id: uuid.UUID, features: FeatureLookup, identity: IdentityEvidence
    ) -> Application:
        """Gate on required data, then decide: the whole path of 8.4.2 a and 9.2 in one step."""
        application = await self.get(application_id)
        if application.status is ApplicationStatus.DRAFT:
            move_application(self.session, application, ApplicationStatus.COLLECTING_DATA)
        if application.status is not ApplicationStatus.COLLECTING_DATA:
            raise Conflict(f"A {application.status.value} application cannot be submitted.")
        spec = await ProductCatalogue(self.session).version(
            application.product_code, application.product_version
        )
        stored = await features(self.session, application.uscc)
        present = sources_of(stored) if stored is not None else frozenset()
        missing = sorted(set(spec.required_sources) - present)
        application.missing_sources = missing
        if stored is None or missing:
            return application  # stays collecting_data until the sources deliver
        move_application(self.session, application, ApplicationStatus.DATA_READY)
        move_application(self.session, application, ApplicationStatus.UNDER_DECISION)
        decision = await DecisionService(self.session).decide(
            application,
            to_decision_product(spec, application.term_months),
            stored,
            identity,
            spec.mitigations,
        )
        await self.session.flush()
        application.decision_id = decision.id
        await self._route(application, decision)
        return application

    async def _route(self, application: Application, decision: CreditDecision) -> None:
        record = DecisionRecord.from_json(decision.record.encode("utf-8"))
        if record.route is Route.AUTO_APPROVE:
            await approve_application(self.session, application, record.limit_fen, record)
        elif record.route is Route.MANUAL_REVIEW:
            move_application(
                self.session,
                application,
                ApplicationStatus.MANUAL_REVIEW,
                ", ".join(record.route_reasons),
            )
            self.session.add(
                ReviewCase(
                    partner_tenant_id=application.tenant_id,
                    application_id=application.id,
                    decision_id=decision.id,
                    status=ReviewStatus.OPEN,
                    route_reasons=list(record.route_reasons),
                )
            )
        else:
            await decline_application(
                self.session, application, ", ".join(record.route_reasons), record
            )

    async def decision_of(self, application_id: uuid.UUID) -> DecisionRecord | None:
        application = await self.get(application_id)
        if application.decision_id is None:
            return None
        row = await DecisionService(self.session).get(application.decision_id)
        return DecisionRecord.from_json(row.record.encode("utf-8"))

    async def leads_of(self, application_id: uuid.UUID) -> Sequence[Lead]:
        application = await self.get(application_id)
        return await LeadRepository(self.session).for_application(application.id)


async def _review_case(session: AsyncSession, application_id: uuid.UUID) -> ReviewCase | None:
    stmt = select(ReviewCase).where(ReviewCase.application_id == application_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _check_against(spec: ProductSpec, draft: ApplicationDraft) -> None:
    errors: list[FieldError] = []
    if not spec.min_amount_fen <= draft.amount_fen <= spec.max_amount_fen:
        errors.append(
            FieldError(
                "amount_fen",
                f"must be between {spec.min_amount_fen} and {spec.max_amount_fen} fen",
            )
        )
    if draft.term_months not in spec.term_options_months:
        errors.append(FieldError("term_months", f"must be one of {list(spec.term_options_months)}"))
    if draft.repayment_method not in spec.repayment_methods:
        errors.append(
            FieldError(
                "repayment_method",
                f"must be one of {[m.value for m in spec.repayment_methods]}",
            )
        )
    if errors:
        raise InvalidRequest(errors=errors)
