"""The cooperation workflow (JR/T 0269 7.3.2 a): the partner states its technical plan, data
retention and liability terms; the bank's risk assessment and compliance review each tick a
checklist, comment and decide; the generated agreement is accepted and its hash stored; the
tenant becomes active. Every step writes an audit record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, Forbidden, InvalidRequest, NotFound
from puhui.onboarding.agreement import AgreementParties, agreement_sha256, render_agreement
from puhui.onboarding.models import (
    CaseStatus,
    CooperationCase,
    CooperationComment,
    ReviewDecision,
)
from puhui.onboarding.repository import (
    CommentRepository,
    CooperationRepository,
    PartnerDirectoryRepository,
)
from puhui.onboarding.schemas import (
    COMPLIANCE_CHECKLIST,
    RISK_CHECKLIST,
    CooperationTerms,
    ReviewSubmission,
)
from puhui.tenancy.models import Tenant, TenantStatus
from puhui.tenancy.subject import AuthSubject

__all__ = ["STAGE_ROLES", "CaseView", "CooperationReview", "PartnerCooperation"]

# Who may decide each review stage.
STAGE_ROLES: dict[str, frozenset[str]] = {
    "risk": frozenset({"risk_officer", "operator"}),
    "compliance": frozenset({"operator"}),
}
_EDITABLE = frozenset({CaseStatus.DRAFT, CaseStatus.CHANGES_REQUESTED})
_MAX_TEXT = 20_000


@dataclass(frozen=True)
class CaseView:
    case: CooperationCase
    tenant: Tenant
    comments: Sequence[CooperationComment]


def _terms_errors(terms: CooperationTerms) -> list[FieldError]:
    errors = []
    for name in ("technical_plan", "data_retention_terms", "liability_terms"):
        text = getattr(terms, name).strip()
        if not 20 <= len(text) <= _MAX_TEXT:
            errors.append(FieldError(name, f"20 to {_MAX_TEXT} characters"))
    return errors


class PartnerCooperation:
    """The partner's side of its own case."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.cases = CooperationRepository(session)

    async def find(self) -> CaseView | None:
        """The organisation's case; None for tenants the bank onboarded directly (seeded)."""
        case = await self.cases.current()
        if case is None:
            return None
        tenant = await PartnerDirectoryRepository(self.session).get(self.subject.tenant_id)
        return CaseView(case, tenant, await CommentRepository(self.session).of_case(case.id))

    async def view(self) -> CaseView:
        view = await self.find()
        if view is None:
            raise NotFound("No cooperation case for this organisation.")
        return view

    def _require_owner(self) -> None:
        if not self.subject.has_role("owner", "admin"):
            raise Forbidden("Only an owner or admin can act on the cooperation case.")

    async def save(self, terms: CooperationTerms, *, submit: bool) -> CooperationCase:
        self._require_owner()
        case = (await self.view()).case
        if case.status not in _EDITABLE:
            raise Conflict(f"A {case.status.value} case cannot be edited.")
        case.technical_plan = terms.technical_plan.strip()
        case.data_retention_terms = terms.data_retention_terms.strip()
        case.liability_terms = terms.liability_terms.strip()
        if submit:
            errors = _terms_errors(terms)
            if errors:
                raise InvalidRequest(errors=errors)
            case.status = CaseStatus.SUBMITTED
            case.submitted_at = utcnow()
            case.risk_decision = case.compliance_decision = None
            case.risk_checklist = {}
            case.compliance_checklist = {}
        record_event(
            self.session,
            "cooperation.submitted" if submit else "cooperation.draft_saved",
            subject=self.subject,
            target_tenant_id=self.subject.tenant_id,
            target=f"cooperation_case:{case.id}",
        )
        await self.cases.flush()
        return case

    async def accept_agreement(self, agreement_sha: str) -> CooperationCase:
        """Accept the generated agreement by its hash (so what was read is what is agreed)."""
        if not self.subject.has_role("owner"):
            raise Forbidden("Only an owner can accept the cooperation agreement.")
        view = await self.view()
        case = view.case
        if case.status is not CaseStatus.APPROVED or case.agreement_sha256 is None:
            raise Conflict("There is no approved agreement to accept.")
        if agreement_sha != case.agreement_sha256:
            raise Conflict("The agreement changed since you read it; reload and review it.")
        case.status = CaseStatus.ACTIVE
        case.accepted_at = utcnow()
        case.accepted_by = self.subject.member_id
        tenant = view.tenant
        previous = tenant.status
        record_event(
            self.session,
            "cooperation.agreement_accepted",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"cooperation_case:{case.id}",
            details={"agreement_sha256": case.agreement_sha256},
        )
        if tenant.status is TenantStatus.PENDING:
            tenant.status = TenantStatus.ACTIVE
            tenant.status_reason = "cooperation agreement accepted"
            record_event(
                self.session,
                "tenant.activated",
                subject=self.subject,
                target_tenant_id=tenant.id,
                target=f"tenant:{tenant.id}",
                reason="cooperation agreement accepted",
                details={"from": previous.value, "to": tenant.status.value},
            )
        await self.cases.flush()
        return case


class CooperationReview:
    """The bank's side: operators reach other tenants' cases through an audited bypass."""

    def __init__(self, session: AsyncSession, subject: AuthSubject, client_ip: str | None) -> None:
        if not subject.is_bank_staff:
            raise Forbidden("Bank staff only.")
        self.session = session
        self.subject = subject
        self.client_ip = client_ip
        self.cases = CooperationRepository(session)

    async def queue(self) -> list[tuple[CooperationCase, Tenant]]:
        with tenant_bypass(self.session, reason="operator.cooperation_queue"):
            cases = await self.cases.in_statuses(list(CaseStatus))
            tenants = PartnerDirectoryRepository(self.session)
            out = [(case, await tenants.get(case.tenant_id)) for case in cases]
        return out

    async def view(self, tenant_id: uuid.UUID) -> CaseView:
        with tenant_bypass(self.session, reason="operator.cooperation_view"):
            tenant = await PartnerDirectoryRepository(self.session).get(tenant_id)
            case = await self.cases.of_tenant(tenant_id)
            if case is None:
                raise NotFound("This partner has no cooperation case.")
            comments = await CommentRepository(self.session).of_case(case.id)
        record_event(
            self.session,
            "operator.cooperation_viewed",
            subject=self.subject,
            target_tenant_id=tenant_id,
            target=f"cooperation_case:{case.id}",
            client_ip=self.client_ip,
        )
        return CaseView(case, tenant, comments)

    async def decide(self, tenant_id: uuid.UUID, review: ReviewSubmission) -> CooperationCase:
        if not self.subject.roles & STAGE_ROLES[review.stage]:
            raise Forbidden(f"Your role cannot decide the {review.stage} review.")
        checklist_items = RISK_CHECKLIST if review.stage == "risk" else COMPLIANCE_CHECKLIST
        checked = {item: item in review.checked for item in checklist_items}
        decision = ReviewDecision(review.decision)
        errors: list[FieldError] = []
        if decision is ReviewDecision.APPROVE and not all(checked.values()):
            errors.append(FieldError("checked", "approval needs every checklist item confirmed"))
        if decision is not ReviewDecision.APPROVE and len(review.comment.strip()) < 5:
            errors.append(FieldError("comment", "say why (at least 5 characters)"))
        if len(review.comment) > _MAX_TEXT:
            errors.append(FieldError("comment", f"at most {_MAX_TEXT} characters"))
        if errors:
            raise InvalidRequest(errors=errors)
        view = await self.view(tenant_id)
        case, tenant = view.case, view.tenant
        if case.status is not CaseStatus.SUBMITTED:
            raise Conflict(f"A {case.status.value} case is not waiting for review.")
        now = utcnow()
        with tenant_bypass(self.session, reason=f"operator.cooperation_{review.stage}_review"):
            if review.stage == "risk":
                case.risk_checklist = checked
                case.risk_decision = decision
                case.risk_reviewer_id = self.subject.member_id
                case.risk_decided_at = now
            else:
                case.compliance_checklist = checked
                case.compliance_decision = decision
                case.compliance_reviewer_id = self.subject.member_id
                case.compliance_decided_at = now
            if review.comment.strip():
                self.session.add(
                    CooperationComment(
                        tenant_id=tenant.id,
                        case_id=case.id,
                        author_member_id=self.subject.member_id,
                        stage=review.stage,
                        body=review.comment.strip(),
                    )
                )
            if decision is ReviewDecision.REJECT:
                case.status = CaseStatus.REJECTED
                if tenant.status is TenantStatus.PENDING:
                    tenant.status = TenantStatus.SUSPENDED
                    tenant.status_reason = f"cooperation refused: {review.comment.strip()[:400]}"
            elif decision is ReviewDecision.REQUEST_CHANGES:
                case.status = CaseStatus.CHANGES_REQUESTED
            elif (
                case.risk_decision is ReviewDecision.APPROVE
                and case.compliance_decision is ReviewDecision.APPROVE
            ):
                self._generate_agreement(case, tenant)
            await self.session.flush()
        record_event(
            self.session,
            f"operator.cooperation_{review.stage}_{decision.value}",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"cooperation_case:{case.id}",
            client_ip=self.client_ip,
            reason=review.comment.strip()[:500] or None,
            details={"checklist": checked, "case_status": case.status.value},
        )
        if case.status is CaseStatus.APPROVED:
            record_event(
                self.session,
                "cooperation.agreement_generated",
                subject=self.subject,
                target_tenant_id=tenant.id,
                target=f"cooperation_case:{case.id}",
                client_ip=self.client_ip,
                details={
                    "agreement_sha256": case.agreement_sha256,
                    "tenant_status": tenant.status.value,
                },
            )
        return case

    def _generate_agreement(self, case: CooperationCase, tenant: Tenant) -> None:
        now = utcnow()
        text = render_agreement(
            AgreementParties(
                bank_name="普惠银行 Puhui Bank",
                partner_name=tenant.name,
                partner_uscc=tenant.uscc or "-",
                scenario_type=tenant.scenario_type or "-",
            ),
            technical_plan=case.technical_plan,
            data_retention_terms=case.data_retention_terms,
            liability_terms=case.liability_terms,
            risk_checklist=case.risk_checklist,
            compliance_checklist=case.compliance_checklist,
            generated_at=now,
        )
        case.agreement_text = text
        case.agreement_sha256 = agreement_sha256(text)
        case.agreement_generated_at = now
        case.status = CaseStatus.APPROVED
