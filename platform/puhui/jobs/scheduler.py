"""The in-process scheduler that ``puhui serve`` runs in every worker.

Each tick it offers every registered job to :func:`puhui.jobs.run_job` with ``due_only``: the
conditional lease UPDATE lets exactly one worker run a due job, the others skip it. Jobs run one
after another in a background task so they never compete with requests for more than one
coroutine's worth of the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from puhui.jobs import JobContext, discover, holder_id, run_job

__all__ = ["run_scheduler", "scheduler"]

log = logging.getLogger("puhui.jobs.scheduler")


async def run_scheduler(ctx: JobContext, *, tick_seconds: float, stop: asyncio.Event) -> None:
    holder = holder_id()
    jobs = discover()
    log.info("scheduler started", extra={"jobs": len(jobs), "holder": holder})
    while not stop.is_set():
        for name in jobs:
            if stop.is_set():
                break
            try:
                result = await run_job(name, ctx, trigger="schedule", holder=holder, due_only=True)
            except Exception:  # bookkeeping failed (database down): try again next tick
                log.exception("scheduler could not run job", extra={"job": name})
                continue
            if result is not None:
                log.info(
                    "job finished",
                    extra={"job": name, "outcome": result.outcome, "handled": result.handled},
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick_seconds)


@asynccontextmanager
async def scheduler(ctx: JobContext, *, tick_seconds: float) -> AsyncIterator[None]:
    """Run the scheduler for the lifetime of the block (the app's lifespan)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(ctx, tick_seconds=tick_seconds, stop=stop))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
