"""The retention and destruction job (JR/T 0269 6.1): data is kept no longer than its basis.

Two passes, each in small transactions and each leaving an audit record per enterprise and
source: records past their source's retention period are destroyed; records held under a
consent that is no longer active are destroyed too, unless another active consent of the same
enterprise covers that source (e.g. a post-loan monitoring consent), which then becomes the
basis they are held on. Features derived from destroyed data, cached upstream responses and
cursors about the enterprise go with it, so nothing can be rebuilt from leftovers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.consent.gate import consent_is_active
from puhui.consent.models import Consent, ConsentStatus
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.jobs import JobContext, periodic
from puhui.scenario.models import FeatureRow, ScenarioRecord
from puhui.scenario.repository import CursorRepository, RecordRepository
from puhui.scenario.snapshots import forget_snapshots_of

__all__ = ["RetentionReport", "enforce_retention", "retention"]

_REASON = "scenario.retention"


class RetentionReport(msgspec.Struct, kw_only=True):
    """What one run of the job did."""

    expired_destroyed: int = 0
    revoked_destroyed: int = 0
    kept_on_other_basis: int = 0
    enterprises: int = 0
    keys_destroyed: int = 0  # batch data keys no record is sealed under any more


async def _forget_derived(session: AsyncSession, uscc: str, source: str) -> None:
    """Features, cached responses and cursors that could rebuild destroyed data."""
    await session.execute(
        delete(FeatureRow).where(FeatureRow.uscc == uscc, FeatureRow.data_source == source)
    )
    await forget_snapshots_of(session, uscc)
    with tenant_bypass(session, reason=_REASON):
        await CursorRepository(session).forget_enterprise(uscc)


async def _destroy(
    session: AsyncSession, rows: Sequence[ScenarioRecord], basis: str, consent_id: str | None
) -> int:
    groups = Counter((r.uscc, r.data_source) for r in rows)
    await RecordRepository(session).destroy(r.id for r in rows)
    for (uscc, source), count in sorted(groups.items()):
        await _forget_derived(session, uscc, source)
        record_event(
            session,
            "scenario.data_destroyed",
            target=f"enterprise:{uscc}",
            reason=basis,
            details={"data_source": source, "records": count, "consent_id": consent_id},
        )
    return len(rows)


async def _other_basis(session: AsyncSession, uscc: str, source: str, revoked: str) -> str | None:
    """An active consent of the enterprise, other than ``revoked``, that covers ``source``."""
    now = utcnow()
    with tenant_bypass(session, reason=_REASON):
        stmt = select(Consent).where(
            Consent.enterprise_uscc == uscc,
            Consent.status == ConsentStatus.AUTHORISED,
            Consent.valid_until > now,
        )
        candidates = (await session.execute(stmt)).scalars().all()
    for consent in sorted(candidates, key=lambda c: c.valid_until or now, reverse=True):
        if str(consent.id) != revoked and any(
            e.get("source") == source for e in consent.data_items
        ):
            return str(consent.id)
    return None


async def enforce_retention(
    db: SessionFactory, *, batch: int = 500, progress: Callable[[int], None] | None = None
) -> RetentionReport:
    """Run both passes to completion; ``progress`` is told how many records each step handled."""
    report = RetentionReport()
    touched: set[str] = set()
    while True:  # pass 1: retention periods elapsed
        async with db.unit_of_work() as session:
            rows = await RecordRepository(session).expired(utcnow(), batch)
            if not rows:
                break
            report.expired_destroyed += await _destroy(
                session, rows, "retention period elapsed", None
            )
            touched.update(r.uscc for r in rows)
        if progress:
            progress(len(rows))
    async with db.unit_of_work() as session:
        consent_ids = await RecordRepository(session).consent_ids()
    for consent_id in consent_ids:  # pass 2: consents no longer active
        async with db.unit_of_work() as session:
            if await consent_is_active(session, consent_id):
                continue
            rows = await RecordRepository(session).under_consent(consent_id)
            handled = 0
            by_subject: dict[tuple[str, str], list[ScenarioRecord]] = {}
            for row in rows:
                by_subject.setdefault((row.uscc, row.data_source), []).append(row)
            for (uscc, source), held in sorted(by_subject.items()):
                basis = await _other_basis(session, uscc, source, consent_id)
                if basis is None:
                    report.revoked_destroyed += await _destroy(
                        session, held, "consent no longer active", consent_id
                    )
                else:
                    await _hold_on(session, held, basis, consent_id)
                    report.kept_on_other_basis += len(held)
                touched.add(uscc)
                handled += len(held)
        if progress:
            progress(handled)
    async with db.unit_of_work() as session:  # keys nothing is sealed under any more
        report.keys_destroyed = await RecordRepository(session).forget_unused_keys()
    report.enterprises = len(touched)
    return report


@periodic(
    "scenario.retention",
    every=timedelta(hours=1),
    help="Destroy scenario data past its retention or whose consent ended (JR/T 0269 6.1).",
)
async def retention(ctx: JobContext) -> int:
    """The scheduled job: both passes, committed in batches; returns the records handled."""
    done = 0

    def advance(handled: int) -> None:
        nonlocal done
        done += handled
        ctx.progress(done, None)

    report = await enforce_retention(ctx.db, progress=advance)
    return report.expired_destroyed + report.revoked_destroyed + report.kept_on_other_basis


async def _hold_on(
    session: AsyncSession, rows: Sequence[ScenarioRecord], basis: str, revoked: str
) -> None:
    ids = [r.id for r in rows]
    await session.execute(
        update(ScenarioRecord).where(ScenarioRecord.id.in_(ids)).values(consent_id=basis)
    )
    record_event(
        session,
        "scenario.data_rebased",
        target=f"enterprise:{rows[0].uscc}",
        reason="consent no longer active; another consent covers this source",
        details={
            "data_source": rows[0].data_source,
            "records": len(rows),
            "consent_id": revoked,
            "now_held_under": basis,
        },
    )
