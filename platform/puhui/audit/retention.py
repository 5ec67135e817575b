"""Audit retention: archive whole days older than the retention period, then purge them.

Each day goes to ``<archive_dir>/audit-<day>.jsonl`` (one sealed record per line, in chain
order) with ``audit-<day>.manifest.json`` naming the record count, the day's head hash and the
file's SHA-256. Only after both files are written and fsynced are the rows deleted, in the same
transaction that marks the day head archived; the run itself is an audit record.
Retention must cover at least six months (Settings.audit_retention_days >= 180).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from puhui.audit.chain import chain_body
from puhui.audit.models import AuditDayHead, AuditRecord
from puhui.audit.verify import verify_days
from puhui.audit.writer import AuditWriter
from puhui.clock import utcnow
from puhui.config import Settings

__all__ = ["ArchivedDay", "archive_and_purge", "archive_dir"]

_records = cast("Table", AuditRecord.__table__)
_heads = cast("Table", AuditDayHead.__table__)


@dataclass(frozen=True, slots=True)
class ArchivedDay:
    day: date
    records: int
    sha256: str
    path: Path


def _write_synced(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def archive_dir(settings: Settings) -> Path:
    """Where archived days go unless the operator names another directory."""
    return settings.var_dir / "audit-archive"


async def archive_and_purge(
    engine: AsyncEngine,
    writer: AuditWriter,
    archive_dir: Path,
    retention_days: int,
    *,
    progress: Callable[[int, int | None], None] | None = None,
) -> list[ArchivedDay]:
    """Archive then delete every un-archived day older than `retention_days`."""
    cutoff = utcnow().date() - timedelta(days=retention_days)
    archive_dir.mkdir(parents=True, exist_ok=True)
    async with engine.connect() as conn:
        days = [
            d
            for (d,) in await conn.execute(
                select(_heads.c.day)
                .where(_heads.c.day < cutoff, _heads.c.archived_at.is_(None))
                .order_by(_heads.c.day)
            )
        ]
    archived: list[ArchivedDay] = []
    if progress is not None:
        progress(0, len(days))
    for day in days:
        async with engine.begin() as conn:
            verdict = (await verify_days(conn, day))[0]
            head = (await conn.execute(select(_heads).where(_heads.c.day == day))).one()
            rows = [
                dict(r._mapping)
                for r in await conn.execute(
                    select(_records).where(_records.c.day == day).order_by(_records.c.seq)
                )
            ]
            lines = [
                json.dumps(
                    {
                        **chain_body(row),
                        "day": day.isoformat(),
                        "seq": row["seq"],
                        "hash": row["chain_hash"],
                    },
                    sort_keys=True,
                    ensure_ascii=False,
                )
                for row in rows
            ]
            data = ("\n".join(lines) + "\n").encode() if lines else b""
            digest = hashlib.sha256(data).hexdigest()
            path = archive_dir / f"audit-{day.isoformat()}.jsonl"
            _write_synced(path, data)
            manifest: dict[str, Any] = {
                "day": day.isoformat(),
                "records": len(rows),
                "head_hash": head.head_hash,
                "last_seq": head.last_seq,
                "sha256": digest,
                "chain_verified": verdict.ok,
                "chain_problem": verdict.reason,
            }
            _write_synced(
                archive_dir / f"audit-{day.isoformat()}.manifest.json",
                json.dumps(manifest, sort_keys=True, indent=2).encode(),
            )
            await conn.execute(delete(_records).where(_records.c.day == day))
            await conn.execute(
                update(_heads)
                .where(_heads.c.day == day)
                .values(archived_at=utcnow(), archive_sha256=digest)
            )
        archived.append(ArchivedDay(day, len(rows), digest, path))
        await writer.write(
            {
                "occurred_at": utcnow(),
                "action": "audit.retention_archived",
                "outcome": "success" if verdict.ok else "warning",
                "target": f"audit_day:{day.isoformat()}",
                "reason": f"older than {retention_days} days",
                "details": {"records": len(rows), "sha256": digest, "chain_ok": verdict.ok},
            }
        )
        if progress is not None:
            progress(len(archived), len(days))
    return archived
