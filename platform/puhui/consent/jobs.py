"""Scheduled consent work: expire consents whose validity (or time to answer) has run out."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from puhui.clock import utcnow
from puhui.config import Settings
from puhui.consent.repository import ConsentRepository
from puhui.consent.service import expire_consent
from puhui.consent.status import ConsentBoard
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.jobs import JobContext, periodic
from puhui.oauth.runtime import OAuthRuntime

__all__ = ["expire", "expire_consents"]

log = logging.getLogger("puhui.consent.jobs")


async def _lapsed_count(db: SessionFactory) -> int:
    async with db.unit_of_work() as session:
        with tenant_bypass(session, reason="consent.expiry_job"):
            return await ConsentRepository(session).lapsed_count(utcnow())


async def expire_consents(
    db: SessionFactory,
    settings: Settings,
    board: ConsentBoard | None = None,
    *,
    batch: int = 200,
    redis: Any = None,
    tokens: OAuthRuntime | None = None,
    progress: Any = None,
) -> int:
    """Expire every lapsed consent, one committed batch at a time; returns how many expired.

    Each expiry issues a receipt (if the consent had been granted), records a ``consent.expired``
    partner event and an audit record, revokes the token families issued under it (with
    ``tokens``) and publishes the state to the board. Safe to run twice: an expired consent is
    no longer lapsed, so a rerun (or a run resumed after a crash) only picks up what is left.
    """
    own_redis = None
    if board is None:
        if redis is None and settings.redis_url:
            from redis.asyncio import Redis

            redis = own_redis = Redis.from_url(settings.redis_url)
        board = ConsentBoard(redis)
    total = await _lapsed_count(db) if progress is not None else None
    expired = 0
    try:
        while True:
            async with db.unit_of_work() as session:
                with tenant_bypass(session, reason="consent.expiry_job"):
                    lapsed = await ConsentRepository(session).lapsed(utcnow(), limit=batch)
                    for consent in lapsed:
                        await expire_consent(
                            session, board, consent, issuer=settings.issuer, tokens=tokens
                        )
            expired += len(lapsed)
            if progress is not None:
                progress(expired, total)
            if len(lapsed) < batch:
                break
    finally:
        if own_redis is not None:
            await own_redis.aclose()
    log.info("consents expired: %d", expired)
    return expired


@periodic(
    "consent.expire",
    every=timedelta(minutes=1),
    help="Expire consents whose validity (or time to answer) ended; receipts, events, tokens.",
)
async def expire(ctx: JobContext) -> int:
    """The scheduled expiry: the consent board and the token revocation list of this deployment
    (Redis when configured), so workers stop the expired consents' tokens at once."""
    return await expire_consents(
        ctx.db,
        ctx.settings,
        ConsentBoard(ctx.redis),
        tokens=OAuthRuntime.build(ctx.settings, ctx.redis),
        progress=ctx.progress,
    )
