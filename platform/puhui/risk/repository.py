"""Queries for rule-set and model versions, decisions, blacklist, limits and review cases."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.db.repository import Repository
from puhui.risk.models import (
    BlacklistRow,
    CreditDecision,
    CreditLimitEventRow,
    CustomerCreditLimit,
    ReviewCase,
    ReviewStatus,
    RuleSetVersion,
    ScoringModelVersion,
)
from puhui.scenario.models import FeatureRow, ScenarioRecord

__all__ = [
    "BlacklistRepository",
    "CreditLimitRepository",
    "DecisionRepository",
    "ModelRepository",
    "ReviewRepository",
    "RuleSetRepository",
    "ScenarioRecordReader",
]


class RuleSetRepository(Repository[RuleSetVersion]):
    model = RuleSetVersion

    async def find(self, ruleset_id: str, version: str) -> RuleSetVersion | None:
        stmt = select(RuleSetVersion).where(
            RuleSetVersion.ruleset_id == ruleset_id, RuleSetVersion.version == version
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def headers(self) -> Sequence[tuple[str, str, str, datetime]]:
        """(id, version, hash, effective_from) of every version, without the documents."""
        stmt = select(
            RuleSetVersion.ruleset_id,
            RuleSetVersion.version,
            RuleSetVersion.content_hash,
            RuleSetVersion.effective_from,
        )
        return [(r[0], r[1], r[2], r[3]) for r in (await self.session.execute(stmt)).all()]

    async def all_versions(self) -> Sequence[RuleSetVersion]:
        stmt = select(RuleSetVersion).order_by(
            RuleSetVersion.effective_from, RuleSetVersion.created_at
        )
        return (await self.session.execute(stmt)).scalars().all()


class ModelRepository(Repository[ScoringModelVersion]):
    model = ScoringModelVersion

    async def find(self, model_id: str, version: str) -> ScoringModelVersion | None:
        stmt = select(ScoringModelVersion).where(
            ScoringModelVersion.model_id == model_id, ScoringModelVersion.version == version
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active_header(self) -> tuple[str, str, str] | None:
        """(model_id, version, sha256) of the active model, without its document."""
        stmt = select(
            ScoringModelVersion.model_id, ScoringModelVersion.version, ScoringModelVersion.sha256
        ).where(ScoringModelVersion.active.is_(True))
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def active(self) -> Sequence[ScoringModelVersion]:
        stmt = select(ScoringModelVersion).where(ScoringModelVersion.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()


class DecisionRepository(Repository[CreditDecision]):
    model = CreditDecision

    async def for_application(self, application_id: uuid.UUID) -> CreditDecision | None:
        stmt = (
            select(CreditDecision)
            .where(CreditDecision.application_id == application_id)
            .order_by(CreditDecision.decided_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class BlacklistRepository(Repository[BlacklistRow]):
    model = BlacklistRow

    async def matching(self, values: Iterable[str], at: datetime) -> Sequence[BlacklistRow]:
        """Entries naming any of `values` that are in force at `at` (or later: dated lists)."""
        wanted = sorted({v for v in values if v})
        if not wanted:
            return []
        stmt = select(BlacklistRow).where(BlacklistRow.value.in_(wanted))
        rows = (await self.session.execute(stmt)).scalars().all()
        return [row for row in rows if row.valid_to is None or row.valid_to > at]


class CreditLimitRepository(Repository[CustomerCreditLimit]):
    model = CustomerCreditLimit

    async def by_uscc(self, uscc: str) -> CustomerCreditLimit | None:
        stmt = select(CustomerCreditLimit).where(CustomerCreditLimit.uscc == uscc)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock(self, limit_id: uuid.UUID) -> CustomerCreditLimit | None:
        """The limit row, refreshed and locked for update where the database can (PostgreSQL)."""
        stmt = (
            select(CustomerCreditLimit)
            .where(CustomerCreditLimit.id == limit_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def event_by_reference(
        self, limit_id: uuid.UUID, kind: str, reference: str
    ) -> CreditLimitEventRow | None:
        stmt = select(CreditLimitEventRow).where(
            CreditLimitEventRow.limit_id == limit_id,
            CreditLimitEventRow.kind == kind,
            CreditLimitEventRow.reference == reference,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def due_for_recheck(self, batch: int) -> Sequence[CustomerCreditLimit]:
        """Active or frozen limits whose scenario features were computed after the last check."""
        checked = func.coalesce(CustomerCreditLimit.checked_at, CustomerCreditLimit.created_at)
        newer = (
            select(FeatureRow.id)
            .where(FeatureRow.uscc == CustomerCreditLimit.uscc, FeatureRow.computed_at > checked)
            .exists()
        )
        stmt = (
            select(CustomerCreditLimit)
            .where(CustomerCreditLimit.state.in_(("active", "frozen")), newer)
            .order_by(CustomerCreditLimit.uscc)
            .limit(batch)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_checked(self, limit_id: uuid.UUID, at: datetime) -> None:
        """Record a re-check that changed nothing else (one UPDATE, no row loaded)."""
        await self.session.execute(
            update(CustomerCreditLimit)
            .where(CustomerCreditLimit.id == limit_id)
            .values(checked_at=at)
            .execution_options(synchronize_session=False)
        )

    async def events(self, limit_id: uuid.UUID) -> Sequence[CreditLimitEventRow]:
        stmt = (
            select(CreditLimitEventRow)
            .where(CreditLimitEventRow.limit_id == limit_id)
            .order_by(CreditLimitEventRow.at, CreditLimitEventRow.created_at)
        )
        return (await self.session.execute(stmt)).scalars().all()


class ScenarioRecordReader:
    """Reads stored scenario records of an enterprise (the scenario domain's public model)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def newest_first(self, uscc: str, data_types: Sequence[str]) -> Sequence[ScenarioRecord]:
        if not data_types:
            return []
        stmt = (
            select(ScenarioRecord)
            .where(ScenarioRecord.uscc == uscc, ScenarioRecord.data_type.in_(data_types))
            .order_by(ScenarioRecord.fetched_at.desc(), ScenarioRecord.natural_key)
        )
        return (await self.session.execute(stmt)).scalars().all()


class ReviewRepository(Repository[ReviewCase]):
    model = ReviewCase

    async def queue(
        self, status: ReviewStatus | None, limit: int, offset: int
    ) -> Sequence[ReviewCase]:
        stmt = self.query()
        if status is not None:
            stmt = stmt.where(ReviewCase.status == status)
        return await self.list(stmt, limit=limit, offset=offset)
