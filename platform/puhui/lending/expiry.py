"""Expiry of offers and applications past their validity, for every partner (periodic jobs).

Reads and partner events cross tenants on purpose (an explicit, stated bypass): the bank expires
what each partner's customers left open. Each batch commits on its own, so an interrupted run
resumes where it stopped, and an expired item is no longer open, so a second run finds nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.lending.applications import move_application
from puhui.lending.models import ApplicationStatus, OfferStatus
from puhui.lending.offers import move_offer
from puhui.lending.repository import ApplicationRepository, OfferRepository

__all__ = ["expire_applications", "expire_offers"]

BATCH: Final = 200
Progress = Callable[[int, int | None], None]
T = TypeVar("T")


async def _expire_in_batches(
    db: SessionFactory,
    reason: str,
    lapsed: Callable[[AsyncSession, datetime, int], Awaitable[Sequence[T]]],
    expire: Callable[[AsyncSession, T], None],
    *,
    now: datetime,
    batch: int,
    progress: Progress | None,
) -> int:
    """Expire what `lapsed` finds, one committed batch at a time, until a batch comes back short."""
    done = 0
    while True:
        async with db.unit_of_work() as session:
            with tenant_bypass(session, reason=reason):
                rows = await lapsed(session, now, batch)
                for row in rows:
                    expire(session, row)
                await session.flush()
        done += len(rows)
        if progress is not None:
            progress(done, None)
        if len(rows) < batch:
            return done


async def expire_offers(
    db: SessionFactory,
    *,
    at: datetime | None = None,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> int:
    """Move created or delivered offers past `expires_at` to `expired`; returns how many."""
    return await _expire_in_batches(
        db,
        "lending.offers.expire job",
        lambda session, now, limit: OfferRepository(session).lapsed(now, limit),
        lambda session, offer: move_offer(session, offer, OfferStatus.EXPIRED),
        now=at or utcnow(),
        batch=batch,
        progress=progress,
    )


async def expire_applications(
    db: SessionFactory,
    *,
    at: datetime | None = None,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> int:
    """Move applications still open (draft, collecting or ready) past `expires_at` to `expired`."""
    return await _expire_in_batches(
        db,
        "lending.applications.expire job",
        lambda session, now, limit: ApplicationRepository(session).open_before(now, limit),
        lambda session, application: move_application(
            session, application, ApplicationStatus.EXPIRED, "not completed"
        ),
        now=at or utcnow(),
        batch=batch,
        progress=progress,
    )
