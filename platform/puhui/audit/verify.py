"""`puhui audit verify`: re-walk each day's hash chain against its anchored head."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from puhui.audit.chain import stored_entry
from puhui.audit.models import AuditDayHead, AuditRecord
from puhui.security.auditchain import verify_chain

__all__ = ["DayVerdict", "verify_days"]

_records = AuditRecord.__table__
_heads = AuditDayHead.__table__


@dataclass(frozen=True, slots=True)
class DayVerdict:
    """The outcome for one day: intact, or where and why the chain breaks."""

    day: date
    records: int
    ok: bool
    archived: bool = False
    first_bad_seq: int | None = None
    reason: str | None = None


async def verify_days(conn: AsyncConnection, day: date | None = None) -> list[DayVerdict]:
    """Verify one day or every anchored day; a day with records but no head fails too."""
    heads_query = select(_heads).order_by(_heads.c.day)
    if day is not None:
        heads_query = heads_query.where(_heads.c.day == day)
    heads = {row.day: row for row in await conn.execute(heads_query)}
    days_query = select(_records.c.day).where(_records.c.day.is_not(None)).distinct()
    if day is not None:
        days_query = days_query.where(_records.c.day == day)
    days = set(heads) | {d for (d,) in await conn.execute(days_query)}
    verdicts: list[DayVerdict] = []
    for current in sorted(days):
        head = heads.get(current)
        if head is not None and head.archived_at is not None:
            remaining = await conn.scalar(
                select(func.count()).select_from(_records).where(_records.c.day == current)
            )
            verdicts.append(
                DayVerdict(
                    current,
                    int(remaining or 0),
                    ok=not remaining,
                    archived=True,
                    reason="records remain after the day was archived" if remaining else None,
                )
            )
            continue
        result = await conn.execute(
            select(_records).where(_records.c.day == current).order_by(_records.c.seq)
        )
        entries = [stored_entry(dict(row._mapping)) for row in result]
        if head is None:
            verdicts.append(
                DayVerdict(current, len(entries), ok=False, reason="day has no anchored head")
            )
            continue
        report = verify_chain(
            entries, day=current, expected_head=head.head_hash, expected_count=head.last_seq
        )
        bad_seq = None if report.first_bad_index is None else report.first_bad_index + 1
        verdicts.append(
            DayVerdict(
                current, len(entries), report.ok, first_bad_seq=bad_seq, reason=report.reason
            )
        )
    return verdicts
