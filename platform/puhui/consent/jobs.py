"""Scheduled consent work: expire consents whose validity (or time to answer) has run out."""

from __future__ import annotations

import logging

from puhui.clock import utcnow
from puhui.config import Settings
from puhui.consent.repository import ConsentRepository
from puhui.consent.service import expire_consent
from puhui.consent.status import ConsentBoard
from puhui.db.session import SessionFactory, tenant_bypass

__all__ = ["expire_consents"]

log = logging.getLogger("puhui.consent.jobs")


async def expire_consents(
    db: SessionFactory, settings: Settings, board: ConsentBoard | None = None, *, batch: int = 200
) -> int:
    """Expire every lapsed consent, one committed batch at a time; returns how many expired.

    Each expiry issues a receipt (if the consent had been granted), records a ``consent.expired``
    partner event and an audit record, and publishes the state to the board.
    """
    redis = None
    if board is None:
        if settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url)
        board = ConsentBoard(redis)
    expired = 0
    try:
        while True:
            async with db.unit_of_work() as session:
                with tenant_bypass(session, reason="consent.expiry_job"):
                    lapsed = await ConsentRepository(session).lapsed(utcnow(), limit=batch)
                    for consent in lapsed:
                        await expire_consent(session, board, consent, issuer=settings.issuer)
            expired += len(lapsed)
            if len(lapsed) < batch:
                break
    finally:
        if redis is not None:
            await redis.aclose()
    log.info("consents expired: %d", expired)
    return expired
