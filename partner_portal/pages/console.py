"""The bank's operator console: partner directory and cooperation reviews, production-access
approvals, the manual credit review queue, security alerts, audit search with chain verification
and connector health. Every page is bank staff only; reads of partner data are audited."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from partner_portal.declare import STAFF, console_page
from partner_portal.forms import field_errors, first, read_form
from partner_portal.rendering import page
from puhui.audit import record_event
from puhui.audit.repository import AuditRepository
from puhui.audit.verify import verify_days
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.deps import Db, Subject
from puhui.errors import FieldError, InvalidRequest, ProblemError
from puhui.onboarding.cooperation import STAGE_ROLES, CooperationReview
from puhui.onboarding.production import ProductionApproval
from puhui.onboarding.repository import PartnerDirectoryRepository
from puhui.onboarding.schemas import COMPLIANCE_CHECKLIST, RISK_CHECKLIST, ReviewSubmission
from puhui.outbound import upstream_breakers
from puhui.risk.models import ReviewStatus
from puhui.risk.review import ReviewService
from puhui.scenario.repository import InstanceRepository, SyncRunRepository
from puhui.security.models import AlertStatus
from puhui.security.service import SecurityAlertService
from puhui.tenancy.models import TenantStatus

__all__ = ["ConsolePages"]

_Reviewers = tuple(sorted(STAGE_ROLES["risk"] | STAGE_ROLES["compliance"]))


def _ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _optional_uuid(text: str | None, field: str) -> uuid.UUID | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidRequest(errors=[FieldError(field, "a tenant id (UUID)", "query")]) from None


def _optional_date(text: str | None, field: str) -> date | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(errors=[FieldError(field, "a date, YYYY-MM-DD", "query")]) from None


class ConsolePages(Controller):
    path = "/console"

    @get("/", **console_page("ConsoleHome", "Operator console overview", 40, roles=STAFF))
    async def home(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        partners = await PartnerDirectoryRepository(db).partners()
        pending = [t for t in partners if t.status is TenantStatus.PENDING]
        return page(request, "console/home.html", partners=partners, pending=pending)

    @get("/partners", **console_page("ConsolePartners", "Partner directory", 41, roles=STAFF))
    async def partners(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        cases = {
            case.tenant_id: case
            for case, _ in await CooperationReview(db, subject, _ip(request)).queue()
        }
        partners = await PartnerDirectoryRepository(db).partners()
        return page(request, "console/partners.html", partners=partners, cases=cases)

    @get(
        "/partners/{tenant_id:uuid}",
        **console_page("ConsolePartner", "A partner and its cooperation case", 42, roles=STAFF),
    )
    async def partner(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        tenant_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        view = await CooperationReview(db, subject, _ip(request)).view(tenant_id)
        return self._partner_page(request, view, errors={})

    def _partner_page(
        self,
        request: Request[Any, Any, Any],
        view: Any,
        *,
        errors: dict[str, str],
        status: int = 200,
    ) -> Response[Any]:
        return page(
            request,
            "console/partner.html",
            status_code=status,
            view=view,
            errors=errors,
            risk_items=RISK_CHECKLIST,
            compliance_items=COMPLIANCE_CHECKLIST,
            stage_roles=STAGE_ROLES,
        )

    @post(
        "/partners/{tenant_id:uuid}/review",
        **console_page(
            "ConsoleReviewCooperation",
            "Decide a cooperation review stage",
            43,
            roles=_Reviewers,
            write=True,
        ),
    )
    async def review(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        tenant_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        form = await read_form(request)
        service = CooperationReview(db, subject, _ip(request))
        stage, decision = first(form, "stage", 20), first(form, "decision", 20)
        try:
            if stage not in {"risk", "compliance"}:
                raise InvalidRequest(errors=[FieldError("stage", "risk or compliance")])
            if decision not in {"approve", "request_changes", "reject"}:
                raise InvalidRequest(errors=[FieldError("decision", "choose a decision")])
            await service.decide(
                tenant_id,
                ReviewSubmission(
                    stage=stage,  # type: ignore[arg-type]  # checked just above
                    checked=tuple(form.get("checked", [])[:20]),
                    decision=decision,  # type: ignore[arg-type]  # checked just above
                    comment=first(form, "comment", 20_000),
                ),
            )
        except ProblemError as exc:
            if exc.kind.status not in {403, 409, 422}:
                raise
            await db.rollback()
            view = await service.view(tenant_id)
            return self._partner_page(
                request, view, errors=field_errors(exc), status=exc.kind.status
            )
        return Redirect(f"/console/partners/{tenant_id}", status_code=303)

    @get(
        "/production",
        **console_page(
            "ConsoleProductionRequests", "Production-access requests", 44, roles=("operator",)
        ),
    )
    async def production(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        queue = await ProductionApproval(db, subject, _ip(request)).queue()
        return page(request, "console/production.html", queue=queue, errors={})

    @post(
        "/production/{request_id:uuid}",
        **console_page(
            "ConsoleDecideProduction",
            "Approve or refuse production access",
            45,
            roles=("operator",),
            write=True,
        ),
    )
    async def decide_production(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        form = await read_form(request)
        service = ProductionApproval(db, subject, _ip(request))
        try:
            await service.decide(
                request_id,
                approve=first(form, "decision", 10) == "approve",
                reason=first(form, "reason", 500),
            )
        except ProblemError as exc:
            if exc.kind.status not in {409, 422}:
                raise
            await db.rollback()
            return page(
                request,
                "console/production.html",
                status_code=exc.kind.status,
                queue=await service.queue(),
                errors=field_errors(exc),
            )
        return Redirect("/console/production", status_code=303)

    @get(
        "/audit",
        **console_page(
            "ConsoleAudit",
            "Audit-log search and chain verification",
            46,
            roles=("auditor", "operator"),
        ),
    )
    async def audit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        action: Annotated[str | None, QueryParameter(required=False, max_length=64)] = None,
        api_id: Annotated[str | None, QueryParameter(required=False, max_length=32)] = None,
        request_id: Annotated[str | None, QueryParameter(required=False, max_length=128)] = None,
        tenant_text: Annotated[
            str | None, QueryParameter(name="tenant", required=False, max_length=64)
        ] = None,
        day_text: Annotated[
            str | None, QueryParameter(name="day", required=False, max_length=10)
        ] = None,
    ) -> Response[Any]:
        # The search form sends every field, empty ones as "": read them as text, then check.
        tenant, day = _optional_uuid(tenant_text, "tenant"), _optional_date(day_text, "day")
        rows = await AuditRepository(db).search(
            tenant_id=tenant,
            action=action or None,
            api_id=api_id or None,
            request_id=request_id or None,
            limit=100,
        )
        verdicts = await verify_days(await db.connection(), day or utcnow().date())
        record_event(
            db,
            "operator.audit_searched",
            subject=subject,
            target_tenant_id=tenant,
            client_ip=_ip(request),
        )
        return page(
            request,
            "console/audit.html",
            rows=rows,
            verdicts=verdicts,
            filters={
                "action": action or "",
                "api_id": api_id or "",
                "request_id": request_id or "",
                "tenant": str(tenant or ""),
                "day": str(day or utcnow().date()),
            },
        )

    @get(
        "/credit-reviews",
        **console_page(
            "ConsoleCreditReviews", "Manual credit review queue", 47, roles=("risk_officer",)
        ),
    )
    async def credit_reviews(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        cases = await ReviewService(db, subject, _ip(request)).queue(None, 100, 0)
        return page(
            request,
            "console/credit_reviews.html",
            cases=cases,
            errors={},
            failed=None,
            active=(ReviewStatus.OPEN, ReviewStatus.ASSIGNED),
        )

    @post(
        "/credit-reviews/{case_id:uuid}",
        **console_page(
            "ConsoleCreditReviewAction",
            "Work a manual credit review case",
            48,
            roles=("risk_officer",),
            write=True,
        ),
    )
    async def credit_review_action(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        case_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        form = await read_form(request)
        service = ReviewService(db, subject, _ip(request))
        action, reason = first(form, "action", 20), first(form, "reason", 500).strip()
        try:
            if len(reason) < 3:
                raise InvalidRequest(
                    errors=[FieldError("reason", "say why (at least 3 characters)")]
                )
            if action == "assign":
                await service.assign(case_id, reason)
            elif action == "approve":
                amount = first(form, "amount_fen", 15).strip()
                await service.approve(case_id, reason, int(amount) if amount.isdigit() else None)
            elif action == "decline":
                await service.decline(case_id, reason)
            elif action == "return":
                await service.return_for_information(case_id, reason)
            else:
                raise InvalidRequest(
                    errors=[FieldError("action", "assign, approve, decline or return")]
                )
        except ProblemError as exc:
            if exc.kind.status not in {403, 409, 422}:
                raise
            await db.rollback()
            cases = await service.queue(None, 100, 0)
            return page(
                request,
                "console/credit_reviews.html",
                status_code=exc.kind.status,
                cases=cases,
                errors=field_errors(exc),
                failed=case_id,
                active=(ReviewStatus.OPEN, ReviewStatus.ASSIGNED),
            )
        return Redirect("/console/credit-reviews", status_code=303)

    @get(
        "/alerts",
        **console_page(
            "ConsoleAlerts", "Security anomaly alerts", 49, roles=("operator", "auditor")
        ),
    )
    async def alerts(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        alerts = await SecurityAlertService(db, subject).list(None, 200, 0)
        return page(request, "console/alerts.html", alerts=alerts, open_status=AlertStatus.OPEN)

    @post(
        "/alerts/{alert_id:uuid}/acknowledge",
        **console_page(
            "ConsoleAcknowledgeAlert",
            "Acknowledge a security alert",
            50,
            roles=("operator",),
            write=True,
        ),
    )
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        alert_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        form = await read_form(request)
        await SecurityAlertService(db, subject).acknowledge(
            alert_id, first(form, "note", 500).strip()
        )
        return Redirect("/console/alerts", status_code=303)

    @get(
        "/connectors",
        **console_page("ConsoleConnectorHealth", "Connector health", 51, roles=("operator",)),
    )
    async def connectors(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        circuits = {h.upstream: h for h in upstream_breakers().health()}
        with tenant_bypass(db, reason="operator.connector_health"):
            instances = await InstanceRepository(db).list(limit=1000)
            latest = await SyncRunRepository(db).latest_by_instance()
        record_event(
            db, "operator.connector_health_viewed", subject=subject, client_ip=_ip(request)
        )
        rows = [(i, circuits.get(i.connector), latest.get(i.id)) for i in instances]
        return page(request, "console/connectors.html", rows=rows)
