"""Every onboarding query. Tenant scoping is the session's job; operator reads use a bypass."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit.models import AuditRecord
from puhui.consent.models import Consent
from puhui.db.repository import Repository
from puhui.onboarding.models import (
    CaseStatus,
    CooperationCase,
    CooperationComment,
    Invitation,
    PageView,
    ProductionAccessRequest,
    RequestStatus,
    SandboxMessage,
    SecondFactor,
    SignInChallenge,
    VerificationToken,
)
from puhui.tenancy.models import Tenant, TenantKind, TenantStatus

__all__ = [
    "CallSearch",
    "ChallengeRepository",
    "CommentRepository",
    "ConsentStatsRepository",
    "CooperationRepository",
    "InvitationRepository",
    "PageViewRepository",
    "PartnerCallRepository",
    "PartnerDirectoryRepository",
    "ProductionRequestRepository",
    "SandboxInboxRepository",
    "SecondFactorRepository",
    "VerificationRepository",
]


class VerificationRepository(Repository[VerificationToken]):
    model = VerificationToken

    async def by_hash(self, token_hash: str) -> VerificationToken | None:
        stmt = self.query().where(VerificationToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class SandboxInboxRepository(Repository[SandboxMessage]):
    model = SandboxMessage

    async def for_recipient(self, recipient: str, limit: int = 20) -> Sequence[SandboxMessage]:
        stmt = (
            self.query()
            .where(SandboxMessage.recipient == recipient.lower())
            .order_by(SandboxMessage.created_at.desc(), SandboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


class InvitationRepository(Repository[Invitation]):
    model = Invitation

    async def by_hash(self, token_hash: str) -> Invitation | None:
        stmt = self.query().where(Invitation.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_ones(self) -> Sequence[Invitation]:
        stmt = self.query().where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        return await self.list(stmt)


class SecondFactorRepository(Repository[SecondFactor]):
    model = SecondFactor

    async def of_member(self, member_id: uuid.UUID) -> SecondFactor | None:
        stmt = self.query().where(SecondFactor.member_id == member_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class ChallengeRepository(Repository[SignInChallenge]):
    model = SignInChallenge

    async def by_hash(self, token_hash: str) -> SignInChallenge | None:
        stmt = self.query().where(SignInChallenge.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class CooperationRepository(Repository[CooperationCase]):
    model = CooperationCase

    async def current(self) -> CooperationCase | None:
        """The caller's tenant's case (one per tenant)."""
        stmt = self.query().order_by(CooperationCase.created_at.desc()).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_tenant(self, tenant_id: uuid.UUID) -> CooperationCase | None:
        """For operator routes (inside a tenant bypass)."""
        stmt = (
            self.query()
            .where(CooperationCase.tenant_id == tenant_id)
            .order_by(CooperationCase.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def in_statuses(self, statuses: Sequence[CaseStatus]) -> Sequence[CooperationCase]:
        return await self.list(self.query().where(CooperationCase.status.in_(statuses)), limit=200)


class CommentRepository(Repository[CooperationComment]):
    model = CooperationComment

    async def of_case(self, case_id: uuid.UUID) -> Sequence[CooperationComment]:
        return await self.list(self.query().where(CooperationComment.case_id == case_id))


class ProductionRequestRepository(Repository[ProductionAccessRequest]):
    model = ProductionAccessRequest

    async def of_client(self, oauth_client_pk: uuid.UUID) -> Sequence[ProductionAccessRequest]:
        stmt = self.query().where(ProductionAccessRequest.oauth_client_pk == oauth_client_pk)
        return await self.list(stmt)

    async def pending(self) -> Sequence[ProductionAccessRequest]:
        stmt = self.query().where(ProductionAccessRequest.status == RequestStatus.PENDING)
        return await self.list(stmt, limit=200)

    async def recent(self) -> Sequence[ProductionAccessRequest]:
        return await self.list(limit=200)


class PageViewRepository(Repository[PageView]):
    model = PageView

    async def since(self, start: datetime, limit: int = 50_000) -> Sequence[PageView]:
        stmt = select(PageView).where(PageView.viewed_at >= start).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()


class PartnerDirectoryRepository(Repository[Tenant]):
    """Tenants as the operator console lists them (tenants are not tenant-owned rows)."""

    model = Tenant

    async def by_uscc(self, uscc: str) -> Tenant | None:
        stmt = self.query().where(Tenant.uscc == uscc)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def partners(self, status: TenantStatus | None = None) -> Sequence[Tenant]:
        stmt = self.query().where(Tenant.kind != TenantKind.BANK)
        if status is not None:
            stmt = stmt.where(Tenant.status == status)
        return await self.list(stmt, limit=500)


@dataclass(frozen=True)
class CallSearch:
    """What a partner searches its request log by (each optional)."""

    text: str | None = None
    api: str | None = None
    request_id: str | None = None
    client_id: str | None = None
    status_class: int | None = None
    record_ids: frozenset[uuid.UUID] | None = None  # narrowed to these (an idempotency key's)


class PartnerCallRepository:
    """API-call audit records made by one partner tenant (the audit trail is not tenant-owned,
    so this repository is the one place that narrows it to the caller's tenant)."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _calls(self) -> Select[AuditRecord]:
        return select(AuditRecord).where(
            AuditRecord.actor_tenant_id == self.tenant_id, AuditRecord.api_id.is_not(None)
        )

    async def search(self, query: CallSearch, *, limit: int, offset: int) -> Sequence[AuditRecord]:
        """Newest first; every given criterion must hold."""
        stmt = self._calls()
        if query.text:
            like = f"%{query.text}%"
            stmt = stmt.where(
                or_(
                    AuditRecord.api_id.ilike(like),
                    AuditRecord.request_id.ilike(like),
                    AuditRecord.action.ilike(like),
                    AuditRecord.actor_client_id.ilike(like),
                )
            )
        if query.api:
            like = f"%{query.api}%"
            stmt = stmt.where(or_(AuditRecord.api_id.ilike(like), AuditRecord.action.ilike(like)))
        if query.request_id:
            stmt = stmt.where(AuditRecord.request_id == query.request_id)
        if query.client_id:
            stmt = stmt.where(AuditRecord.actor_client_id == query.client_id)
        if query.record_ids is not None:
            stmt = stmt.where(AuditRecord.id.in_(list(query.record_ids)))
        if query.status_class is not None:
            stmt = stmt.where(
                AuditRecord.status_code >= query.status_class * 100,
                AuditRecord.status_code < (query.status_class + 1) * 100,
            )
        stmt = (
            stmt.order_by(AuditRecord.occurred_at.desc(), AuditRecord.id)
            .limit(limit)
            .offset(offset)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def calls_with_key(self, key: str) -> dict[uuid.UUID, str]:
        """Audit record id -> idempotency key, for the calls that sent ``key``.

        The gateway keeps the ``Idempotency-Key`` header in the call's audit record, so the
        first call and every replay of it are found exactly.
        """
        rows = await self.session.execute(
            self._calls()
            .where(AuditRecord.details["idempotency_key"].as_string() == key)
            .order_by(AuditRecord.occurred_at, AuditRecord.seq)
            .limit(50)
        )
        return {record.id: key for record in rows.scalars()}

    async def since(self, start: datetime, limit: int = 100_000) -> Sequence[AuditRecord]:
        stmt = self._calls().where(AuditRecord.occurred_at >= start).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def count_since(self, start: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(AuditRecord)
            .where(
                AuditRecord.actor_tenant_id == self.tenant_id,
                AuditRecord.api_id.is_not(None),
                AuditRecord.actor_client_id.is_not(None),
                AuditRecord.occurred_at >= start,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())


class ConsentStatsRepository:
    """Consent counts of the caller's tenant (consents are tenant-owned: the session scopes)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_status(self) -> dict[str, int]:
        stmt = select(Consent.status, func.count()).group_by(Consent.status)
        return {str(status): int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def customers_of(self, consent_ids: Sequence[uuid.UUID]) -> int:
        if not consent_ids:
            return 0
        stmt = select(func.count(func.distinct(Consent.enterprise_uscc))).where(
            Consent.id.in_(list(consent_ids)[:1000])
        )
        return int((await self.session.execute(stmt)).scalar_one())
