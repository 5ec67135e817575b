"""Every query of the scenario domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, delete, func, select, update

from puhui.db.repository import Repository
from puhui.scenario.models import (
    ConnectorInstance,
    FeatureRow,
    QualityReportRow,
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


_UPDATABLE = (
    "content_hash",
    "data",
    "data_enc",
    "field_classes",
    "collection_channel",
    "consent_id",
    "fetched_at",
    "snapshot_taken_at",
    "schema_version",
    "connector_version",
    "collected_by_tenant_id",
    "retain_until",
    "updated_at",
)


class RecordRepository(Repository[ScenarioRecord]):
    model = ScenarioRecord

    async def current_versions(self, natural_keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Content hash and consent of the stored records among ``natural_keys``."""
        if not natural_keys:
            return {}
        stmt = select(
            ScenarioRecord.natural_key, ScenarioRecord.content_hash, ScenarioRecord.consent_id
        ).where(ScenarioRecord.natural_key.in_(natural_keys))
        rows = (await self.session.execute(stmt)).all()
        return {key: (digest, consent) for key, digest, consent in rows}

    async def upsert(self, rows: Sequence[Mapping[str, Any]]) -> UpsertCounts:
        """Insert new records, rewrite changed ones, leave identical ones alone (bulk statements).

        Rows are column dicts with ``natural_key``, ``content_hash`` and ``consent_id``; the last
        row of a key wins. Identical content fetched under another consent keeps its data but
        takes the new consent as its provenance (the basis it is now held on).
        """
        latest = {row["natural_key"]: row for row in rows}
        existing = await self.current_versions(list(latest))
        fresh = [dict(r) | {"id": uuid.uuid4()} for k, r in latest.items() if k not in existing]
        rewrite = [
            r
            for k, r in latest.items()
            if k in existing and existing[k] != (r["content_hash"], r["consent_id"])
        ]
        changed = sum(1 for r in rewrite if existing[r["natural_key"]][0] != r["content_hash"])
        table = cast(Table, ScenarioRecord.__table__)
        if fresh:
            await self.session.execute(table.insert(), fresh)
        if rewrite:
            stmt = (
                update(table)
                .where(table.c.natural_key == bindparam("b_natural_key"))
                .values({c: bindparam("b_" + c) for c in _UPDATABLE})
            )
            params = [{"b_" + c: r[c] for c in ("natural_key", *_UPDATABLE)} for r in rewrite]
            await self.session.execute(stmt, params)
        return UpsertCounts(
            inserted=len(fresh), updated=changed, unchanged=len(latest) - len(fresh) - changed
        )

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
