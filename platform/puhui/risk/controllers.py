"""Operator HTTP for risk: decisions and replay, rule sets, unified limits, the review queue."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from puhui.audit import record_event
from puhui.db.session import tenant_bypass
from puhui.deps import Db, Subject
from puhui.gateway.catalogue import declare
from puhui.risk.models import CreditDecision, CustomerCreditLimit, ReviewCase, ReviewStatus
from puhui.risk.registry import RuleSetRegistry
from puhui.risk.review import ReviewService
from puhui.risk.schemas import (
    CreditLimitEventRead,
    CreditLimitRead,
    DecisionRead,
    LimitFreeze,
    ReplayRead,
    ReviewApprove,
    ReviewCaseRead,
    ReviewReason,
    RuleSetPublish,
    RuleSetRead,
    SubLimitRead,
)
from puhui.risk.service import CreditLimitService, DecisionService

__all__ = ["OperatorRiskController"]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
StatusFilter = Annotated[
    ReviewStatus | None, QueryParameter(description="Only cases in this status")
]
UsccPath = Annotated[
    str, PathParameter(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
]
_RISK = ("risk_officer",)


def _ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _decision_read(row: CreditDecision) -> DecisionRead:
    return DecisionRead(
        id=row.id,
        application_id=row.application_id,
        route=row.route,
        grade=row.grade,
        score=row.score,
        limit_fen=row.limit_fen,
        record_hash=row.record_hash,
        input_hash=row.input_hash,
        record=json.loads(row.record),
    )


def _limit_read(row: CustomerCreditLimit) -> CreditLimitRead:
    return CreditLimitRead(
        uscc=row.uscc,
        state=row.state,
        basis=row.basis,
        total_fen=row.total_fen,
        expires_at=row.expires_at,
        sub_limits=[msgspec.convert(sub, SubLimitRead) for sub in row.sub_limits],
        version=row.version,
    )


def _case_read(case: ReviewCase) -> ReviewCaseRead:
    return ReviewCaseRead(
        id=case.id,
        partner_tenant_id=case.partner_tenant_id,
        application_id=case.application_id,
        decision_id=case.decision_id,
        status=case.status,
        route_reasons=list(case.route_reasons),
        assignee_id=case.assignee_id,
        resolution_reason=case.resolution_reason,
        resolved_at=case.resolved_at,
        approved_amount_fen=case.approved_amount_fen,
        created_at=case.created_at,
        version=case.version,
    )


def _op(operation_id: str, summary: str, sequence: int, **extra: Any) -> dict[str, Any]:
    return declare(
        operation_id=operation_id,
        summary=summary,
        tag="Risk",
        level="A2",
        service="10",
        sequence=sequence,
        audience="operator",
        **extra,
    )


class OperatorRiskController(Controller):
    """Bank staff only; every read of a partner's decision is audited."""

    path = "/api/v1/operator"

    @get(
        "/decisions/{decision_id:uuid}",
        **_op("OperatorGetDecision", "A decision record", 1, errors=(404,)),
    )
    async def get_decision(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        decision_id: FromPath[uuid.UUID],
    ) -> DecisionRead:
        with tenant_bypass(db, reason="operator.decision_viewed"):
            row = await DecisionService(db).get(decision_id)
        record_event(
            db,
            "operator.decision_viewed",
            subject=subject,
            target_tenant_id=row.tenant_id,
            target=f"decision:{row.id}",
            client_ip=_ip(request),
        )
        return _decision_read(row)

    @post(
        "/decisions/{decision_id:uuid}/replay",
        status_code=200,
        **_op("OperatorReplayDecision", "Replay a decision from its record", 2, errors=(404, 409)),
    )
    async def replay(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        decision_id: FromPath[uuid.UUID],
    ) -> ReplayRead:
        with tenant_bypass(db, reason="operator.decision_replayed"):
            row = await DecisionService(db).get(decision_id)
            again = await DecisionService(db).replay(decision_id)
        record_event(
            db,
            "operator.decision_replayed",
            subject=subject,
            target_tenant_id=row.tenant_id,
            target=f"decision:{row.id}",
            client_ip=_ip(request),
        )
        return ReplayRead(
            decision_id=row.id,
            reproduced=again.record_hash == row.record_hash,
            record_hash=again.record_hash,
            ruleset=f"{again.ruleset_id} {again.ruleset_version}",
            model=f"{again.model_id} {again.model_version}",
        )

    @get("/rulesets", **_op("OperatorListRuleSets", "Published admission rule sets", 3))
    async def list_rulesets(self, db: Db) -> list[RuleSetRead]:
        return [
            RuleSetRead(
                ruleset_id=r.ruleset_id,
                version=r.version,
                effective_from=r.effective_from,
                content_hash=r.content_hash,
                published_at=r.created_at,
                note=r.note,
            )
            for r in await RuleSetRegistry(db).versions()
        ]

    @post(
        "/rulesets",
        **_op(
            "OperatorPublishRuleSet",
            "Publish a new admission rule-set version (9.2.2 a)",
            4,
            roles=_RISK,
            errors=(409,),
        ),
    )
    async def publish_ruleset(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        data: JSONBody[RuleSetPublish],
    ) -> RuleSetRead:
        row = await RuleSetRegistry(db).publish(
            data.document.encode("utf-8"), published_by=subject.member_id, note=data.note
        )
        record_event(
            db,
            "risk.ruleset_published",
            subject=subject,
            target=f"ruleset:{row.ruleset_id}:{row.version}",
            client_ip=_ip(request),
            details={"content_hash": row.content_hash},
        )
        return RuleSetRead(
            ruleset_id=row.ruleset_id,
            version=row.version,
            effective_from=row.effective_from,
            content_hash=row.content_hash,
            published_at=row.created_at,
            note=row.note,
        )

    @get(
        "/credit-limits/{uscc:str}",
        **_op("OperatorGetCreditLimit", "A customer's unified credit limit", 5, errors=(404,)),
    )
    async def get_limit(self, db: Db, uscc: FromPath[UsccPath]) -> CreditLimitRead:
        return _limit_read(await CreditLimitService(db).get(uscc))

    @get(
        "/credit-limits/{uscc:str}/events",
        **_op("OperatorListCreditLimitEvents", "Every change of a unified limit", 6, errors=(404,)),
    )
    async def limit_events(self, db: Db, uscc: FromPath[UsccPath]) -> list[CreditLimitEventRead]:
        service = CreditLimitService(db)
        return [
            CreditLimitEventRead(
                kind=e.kind,
                at=e.at,
                state=e.state,
                product_code=e.product_code,
                amount_fen=e.amount_fen,
                exposure_fen=e.exposure_fen,
                available_fen=e.available_fen,
                reason=e.reason,
            )
            for e in await service.events(await service.get(uscc))
        ]

    @post(
        "/credit-limits/{uscc:str}/freeze",
        status_code=200,
        **_op(
            "OperatorFreezeCreditLimit", "Freeze a unified limit", 7, roles=_RISK, errors=(404, 409)
        ),
    )
    async def freeze_limit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        uscc: FromPath[UsccPath],
        data: JSONBody[LimitFreeze],
    ) -> CreditLimitRead:
        row = await CreditLimitService(db).freeze(uscc, data.reason)
        record_event(
            db,
            "risk.limit_frozen",
            subject=subject,
            target=f"credit_limit:{row.id}",
            reason=data.reason,
            client_ip=_ip(request),
        )
        return _limit_read(row)

    @get("/reviews", **_op("OperatorListReviewCases", "The manual review queue (9.2.2 c)", 8))
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        limit: Limit = 50,
        offset: Offset = 0,
        status: StatusFilter = None,
    ) -> list[ReviewCaseRead]:
        cases = await ReviewService(db, subject, _ip(request)).queue(status, limit, offset)
        return [_case_read(c) for c in cases]

    @post(
        "/reviews/{case_id:uuid}/assign",
        status_code=200,
        **_op("OperatorAssignReviewCase", "Take a case", 9, roles=_RISK, errors=(404, 409)),
    )
    async def assign(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewReason],
    ) -> ReviewCaseRead:
        service = ReviewService(db, subject, _ip(request))
        return _case_read(await service.assign(case_id, data.reason))

    @post(
        "/reviews/{case_id:uuid}/approve",
        status_code=200,
        **_op(
            "OperatorApproveReviewCase",
            "Approve, with a reason",
            10,
            roles=_RISK,
            errors=(404, 409),
        ),
    )
    async def approve(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewApprove],
    ) -> ReviewCaseRead:
        service = ReviewService(db, subject, _ip(request))
        return _case_read(await service.approve(case_id, data.reason, data.amount_fen))

    @post(
        "/reviews/{case_id:uuid}/decline",
        status_code=200,
        **_op(
            "OperatorDeclineReviewCase",
            "Decline, with a reason",
            11,
            roles=_RISK,
            errors=(404, 409),
        ),
    )
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewReason],
    ) -> ReviewCaseRead:
        service = ReviewService(db, subject, _ip(request))
        return _case_read(await service.decline(case_id, data.reason))

    @post(
        "/reviews/{case_id:uuid}/return",
        status_code=200,
        **_op(
            "OperatorReturnReviewCase",
            "Return for more information, with a reason",
            12,
            roles=_RISK,
            errors=(404, 409),
        ),
    )
    async def return_case(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewReason],
    ) -> ReviewCaseRead:
        service = ReviewService(db, subject, _ip(request))
        return _case_read(await service.return_for_information(case_id, data.reason))
