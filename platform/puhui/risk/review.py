"""Manual review (JR/T 0269 9.2.2 c): the risk officers' queue and their audited overrides.

A reviewer assigns a case to themself, then approves, declines, or returns it for more
information; each action needs a reason and is written to the audit trail with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, Forbidden
from puhui.lending.applications import (
    approve_application,
    decline_application,
    move_application,
)
from puhui.lending.models import Application, ApplicationStatus
from puhui.risk.decision import DecisionRecord
from puhui.risk.models import ReviewCase, ReviewStatus
from puhui.risk.repository import DecisionRepository, ReviewRepository
from puhui.tenancy.subject import AuthSubject

__all__ = ["ReviewService"]

_ACTIVE: Final = frozenset({ReviewStatus.OPEN, ReviewStatus.ASSIGNED})


class ReviewService:
    """A risk officer working the queue; every read of a partner's application is audited."""

    def __init__(self, session: AsyncSession, subject: AuthSubject, client_ip: str | None) -> None:
        self.session = session
        self.subject = subject
        self.client_ip = client_ip
        self.cases = ReviewRepository(session)

    async def queue(
        self, status: ReviewStatus | None, limit: int, offset: int
    ) -> Sequence[ReviewCase]:
        return await self.cases.queue(status, limit, offset)

    async def get(self, case_id: uuid.UUID) -> ReviewCase:
        return await self.cases.get(case_id)

    async def assign(self, case_id: uuid.UUID, reason: str) -> ReviewCase:
        case = await self._active(case_id)
        case.assignee_id = self.subject.member_id
        case.status = ReviewStatus.ASSIGNED
        self._audit(case, "review.assigned", reason)
        return case

    async def approve(self, case_id: uuid.UUID, reason: str, amount_fen: int | None) -> ReviewCase:
        case = await self._mine(case_id)
        decision = await self._decision(case)
        amount = decision.limit_fen if amount_fen is None else amount_fen
        if not 0 < amount <= decision.limit_fen:
            raise Conflict(
                f"An approval may not exceed the assessed limit of {decision.limit_fen}."
            )
        with tenant_bypass(self.session, reason="review.approve"):
            application = await self._application(case)
            await approve_application(self.session, application, amount, decision)
            await self.session.flush()  # partner-owned rows are written inside the bypass
            approved = application.status is ApplicationStatus.APPROVED
        case.status = ReviewStatus.APPROVED if approved else ReviewStatus.DECLINED
        case.approved_amount_fen = amount if approved else None
        self._resolve(case, "review.approved" if approved else "review.over_crediting", reason)
        return case

    async def decline(self, case_id: uuid.UUID, reason: str) -> ReviewCase:
        case = await self._mine(case_id)
        with tenant_bypass(self.session, reason="review.decline"):
            application = await self._application(case)
            await decline_application(self.session, application, f"REVIEW_DECLINED: {reason}")
            await self.session.flush()
        case.status = ReviewStatus.DECLINED
        self._resolve(case, "review.declined", reason)
        return case

    async def return_for_information(self, case_id: uuid.UUID, reason: str) -> ReviewCase:
        case = await self._mine(case_id)
        with tenant_bypass(self.session, reason="review.return"):
            application = await self._application(case)
            move_application(self.session, application, ApplicationStatus.COLLECTING_DATA, reason)
            await self.session.flush()
        case.status = ReviewStatus.RETURNED
        self._resolve(case, "review.returned", reason)
        return case

    async def _active(self, case_id: uuid.UUID) -> ReviewCase:
        case = await self.cases.get(case_id)
        if case.status not in _ACTIVE:
            raise Conflict(f"This case is already {case.status.value}.")
        return case

    async def _mine(self, case_id: uuid.UUID) -> ReviewCase:
        case = await self._active(case_id)
        if case.status is not ReviewStatus.ASSIGNED or case.assignee_id != self.subject.member_id:
            raise Forbidden("Assign the case to yourself before deciding it.")
        return case

    async def _decision(self, case: ReviewCase) -> DecisionRecord:
        with tenant_bypass(self.session, reason="review.decision_viewed"):
            row = await DecisionRepository(self.session).get(case.decision_id)
        return DecisionRecord.from_json(row.record.encode("utf-8"))

    async def _application(self, case: ReviewCase) -> Application:
        row = await self.session.get(Application, case.application_id)
        if row is None:
            raise Conflict("The application of this case no longer exists.")
        return row

    def _resolve(self, case: ReviewCase, action: str, reason: str) -> None:
        case.resolution_reason = reason
        case.resolved_at = utcnow()
        self._audit(case, action, reason)

    def _audit(self, case: ReviewCase, action: str, reason: str) -> None:
        record_event(
            self.session,
            action,
            subject=self.subject,
            target_tenant_id=case.partner_tenant_id,
            target=f"application:{case.application_id}",
            reason=reason,
            client_ip=self.client_ip,
            details={"case_id": str(case.id), "status": case.status.value},
        )
