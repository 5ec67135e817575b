"""Scheduled OAuth work: drop dead entries of the database-shared OAuth stores."""

from __future__ import annotations

from datetime import timedelta

from puhui.jobs import JobContext, periodic
from puhui.oauth.db_stores import purge_expired

__all__ = ["purge_shared_state"]


@periodic(
    "oauth.purge-shared-state",
    every=timedelta(minutes=10),
    help="Delete expired replay, pushed-request and revocation entries kept in the database.",
)
async def purge_shared_state(ctx: JobContext) -> int:
    """Only rows past their expiry go, so it is safe at any time and any number of times."""
    purged = await purge_expired(ctx.db)
    ctx.progress(purged, purged)
    return purged
