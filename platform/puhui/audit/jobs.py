"""Scheduled audit work: retention (archive whole days past the retention period, then purge)."""

from __future__ import annotations

from datetime import timedelta

from puhui.audit.retention import archive_and_purge, archive_dir
from puhui.audit.writer import AuditWriter
from puhui.jobs import JobContext, periodic

__all__ = ["retention"]


@periodic(
    "audit.retention",
    every=timedelta(hours=6),
    help="Archive audit days older than PUHUI_AUDIT_RETENTION_DAYS (>= 180) to files, then purge.",
)
async def retention(ctx: JobContext) -> int:
    """Days archived and purged. Each day is its own transaction, after its files are fsynced;
    a day already archived is skipped, so a second or interrupted run simply carries on."""
    engine = ctx.db.engine
    writer = AuditWriter(
        engine,
        batch_size=ctx.settings.audit_batch_size,
        flush_ms=ctx.settings.audit_flush_ms,
    )
    try:
        archived = await archive_and_purge(
            engine,
            writer,
            archive_dir(ctx.settings),
            ctx.settings.audit_retention_days,
            progress=ctx.progress,
        )
    finally:
        await writer.close()
    return len(archived)
