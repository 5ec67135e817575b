"""Every query of the scenario domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy import ARRAY, String, any_, bindparam, delete, func, select

from puhui.db.repository import Repository
from puhui.scenario.models import (
    ConnectorInstance,
    FeatureRow,
    QualityReportRow,
    ScenarioDataKey,
    ScenarioRecord,
    SyncCursor,
    SyncRun,
)

__all__ = [
    "CursorRepository",
    "FeatureRepository",
    "InstanceRepository",
    "QualityRepository",
    "RecordRepository",
    "SyncRunRepository",
    "UpsertCounts",
]


class UpsertCounts(msgspec.Struct, frozen=True):
    """What an idempotent upsert did: new rows, changed rows, rows already current."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


class InstanceRepository(Repository[ConnectorInstance]):
    model = ConnectorInstance

    async def by_name(self, name: str) -> ConnectorInstance | None:
        stmt = select(ConnectorInstance).where(ConnectorInstance.name == name)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class SyncRunRepository(Repository[SyncRun]):
    model = SyncRun

    async def of_instance(
        self, instance_id: uuid.UUID, limit: int, offset: int
    ) -> Sequence[SyncRun]:
        stmt = (
            select(SyncRun)
            .where(SyncRun.instance_id == instance_id)
            .order_by(SyncRun.started_at.desc(), SyncRun.id)
            .limit(limit)
            .offset(offset)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def latest_by_instance(self) -> dict[uuid.UUID, SyncRun]:
        """The most recent run of every instance visible to the session."""
        rows = (await self.session.execute(select(SyncRun).order_by(SyncRun.started_at))).scalars()
        return {run.instance_id: run for run in rows}


class QualityRepository(Repository[QualityReportRow]):
    model = QualityReportRow

    async def of_run(self, run_id: uuid.UUID) -> Sequence[QualityReportRow]:
        stmt = (
            select(QualityReportRow)
            .where(QualityReportRow.sync_run_id == run_id)
            .order_by(QualityReportRow.stream)
        )
        return (await self.session.execute(stmt)).scalars().all()


class CursorRepository(Repository[SyncCursor]):
    model = SyncCursor

    async def cursors(self, instance_id: uuid.UUID, uscc: str) -> dict[str, str]:
        stmt = select(SyncCursor).where(
            SyncCursor.instance_id == instance_id, SyncCursor.uscc == uscc
        )
        return {c.stream: c.cursor for c in (await self.session.execute(stmt)).scalars()}

    async def advance(
        self, tenant_id: uuid.UUID, instance_id: uuid.UUID, uscc: str, stream: str, cursor: str
    ) -> None:
        stmt = select(SyncCursor).where(
            SyncCursor.instance_id == instance_id,
            SyncCursor.uscc == uscc,
            SyncCursor.stream == stream,
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            self.add(
                SyncCursor(
                    tenant_id=tenant_id,
                    instance_id=instance_id,
                    uscc=uscc,
                    stream=stream,
                    cursor=cursor,
                )
            )
        else:
            row.cursor = cursor

    async def forget_enterprise(self, uscc: str) -> int:
        result = await self.session.execute(delete(SyncCursor).where(SyncCursor.uscc == uscc))
        return int(getattr(result, "rowcount", 0) or 0)


class RecordRepository(Repository[ScenarioRecord]):
    model = ScenarioRecord

    async def current_versions(self, natural_keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Content hash and consent of the stored records among ``natural_keys``.

        One statement with one parameter however many keys (an array on PostgreSQL, a JSON
        array on SQLite): rendering thousands of ``IN`` placeholders costs more than the query.
        """
        if not natural_keys:
            return {}
        keys = list(natural_keys)
        column = ScenarioRecord.natural_key
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            wanted = column == any_(bindparam("keys", keys, type_=ARRAY(String)))
        elif dialect == "sqlite":
            listed = func.json_each(bindparam("keys", msgspec.json.encode(keys).decode()))
            wanted = column.in_(select(listed.table_valued("value").c.value))
        else:
            wanted = column.in_(keys)
        stmt = select(column, ScenarioRecord.content_hash, ScenarioRecord.consent_id).where(wanted)
        rows = (await self.session.execute(stmt)).all()
        return {key: (digest, consent) for key, digest, consent in rows}

    async def of_enterprise(self, uscc: str, data_source: str) -> Sequence[ScenarioRecord]:
        stmt = select(ScenarioRecord).where(
            ScenarioRecord.uscc == uscc, ScenarioRecord.data_source == data_source
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count(self, *, uscc: str | None = None) -> int:
        stmt = select(func.count()).select_from(ScenarioRecord)
        if uscc is not None:
            stmt = stmt.where(ScenarioRecord.uscc == uscc)
        return int((await self.session.execute(stmt)).scalar_one())

    async def expired(self, now: datetime, limit: int) -> Sequence[ScenarioRecord]:
        stmt = (
            select(ScenarioRecord)
            .where(ScenarioRecord.retain_until <= now)
            .order_by(ScenarioRecord.retain_until, ScenarioRecord.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def consent_ids(self) -> list[str]:
        stmt = select(ScenarioRecord.consent_id).distinct().order_by(ScenarioRecord.consent_id)
        return list((await self.session.execute(stmt)).scalars())

    async def under_consent(self, consent_id: str) -> Sequence[ScenarioRecord]:
        stmt = select(ScenarioRecord).where(ScenarioRecord.consent_id == consent_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def forget_unused_keys(self) -> int:
        """Destroy batch data keys no stored record is sealed under any more (crypto-shredding)."""
        used = select(ScenarioRecord.data_key_id).where(ScenarioRecord.data_key_id.is_not(None))
        result = await self.session.execute(
            delete(ScenarioDataKey).where(ScenarioDataKey.id.not_in(used))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def destroy(self, ids: Iterable[uuid.UUID]) -> int:
        keys = list(ids)
        if not keys:
            return 0
        result = await self.session.execute(
            delete(ScenarioRecord).where(ScenarioRecord.id.in_(keys))
        )
        return int(getattr(result, "rowcount", 0) or 0)


class FeatureRepository(Repository[FeatureRow]):
    model = FeatureRow

    async def of_enterprise(self, uscc: str) -> Sequence[FeatureRow]:
        stmt = select(FeatureRow).where(FeatureRow.uscc == uscc).order_by(FeatureRow.name)
        return (await self.session.execute(stmt)).scalars().all()

    async def replace_source(self, uscc: str, data_source: str, rows: Sequence[FeatureRow]) -> None:
        """Make ``rows`` the only stored features of ``data_source`` for the enterprise."""
        await self.session.execute(
            delete(FeatureRow).where(FeatureRow.uscc == uscc, FeatureRow.data_source == data_source)
        )
        await self.session.flush()
        self.session.add_all(rows)
