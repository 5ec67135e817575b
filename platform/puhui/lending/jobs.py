"""Scheduled lending work: offer and application expiry, limit re-checks on new data."""

from __future__ import annotations

from datetime import timedelta

from puhui.jobs import JobContext, periodic
from puhui.lending.expiry import expire_applications, expire_offers
from puhui.lending.recheck import recheck_due

__all__ = ["expire_applications_job", "expire_offers_job", "recheck_limits_job"]


@periodic(
    "lending.offers.expire",
    every=timedelta(minutes=5),
    help="Expire pre-qualified offers past their validity (offer.expired events).",
)
async def expire_offers_job(ctx: JobContext) -> int:
    return await expire_offers(ctx.db, progress=ctx.progress)


@periodic(
    "lending.applications.expire",
    every=timedelta(minutes=15),
    help="Expire applications left open past their validity (application.expired events).",
)
async def expire_applications_job(ctx: JobContext) -> int:
    return await expire_applications(ctx.db, progress=ctx.progress)


@periodic(
    "lending.limits.recheck",
    every=timedelta(hours=1),
    help="Re-run the limit model for customers whose scenario data changed; adjust or freeze.",
)
async def recheck_limits_job(ctx: JobContext) -> int:
    return await recheck_due(ctx.db, progress=ctx.progress)
