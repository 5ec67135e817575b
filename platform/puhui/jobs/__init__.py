"""Scheduled jobs: one registry, one lease per job across workers, a run history.

A domain registers its periodic work in its own ``jobs`` module::

    @periodic("consent.expire", every=timedelta(minutes=1), help="Expire lapsed consents.")
    async def expire(ctx: JobContext) -> int:
        ...

``puhui serve`` runs due jobs in-process (:mod:`puhui.jobs.scheduler`); ``puhui jobs run NAME``
runs one from the command line with a progress bar. Either way :func:`run_job` takes the job's
lease first, so the same job never runs twice at once, and records the run in ``job_runs``.
Jobs must be idempotent and commit in batches: a run that stops half-way is simply run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
import pkgutil
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

import puhui
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.db.session import SessionFactory
from puhui.jobs.models import JobLease, JobRun

__all__ = [
    "Job",
    "JobBusyError",
    "JobContext",
    "JobResult",
    "UnknownJobError",
    "discover",
    "holder_id",
    "periodic",
    "run_job",
]

log = logging.getLogger("puhui.jobs")

ProgressFn = Callable[[int, int | None], None]


def _no_progress(done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True)
class JobContext:
    """What a job receives: settings, sessions, shared state and a progress callback."""

    settings: Settings
    db: SessionFactory
    redis: Any = None
    progress: ProgressFn = field(default=_no_progress)


JobFn = Callable[[JobContext], Awaitable[int | None]]


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    help: str
    fn: JobFn
    lease: timedelta


@dataclass(frozen=True)
class JobResult:
    name: str
    outcome: str  # "ok" | "failed"
    handled: int
    started_at: datetime
    finished_at: datetime
    error: str | None = None


class UnknownJobError(LookupError):
    """No job of that name is registered."""


class JobBusyError(RuntimeError):
    """Another worker holds the job's lease."""


_REGISTRY: dict[str, Job] = {}


def periodic(
    name: str,
    *,
    every: timedelta,
    help: str,  # noqa: A002 - the same word click uses for a command's description
    lease: timedelta = timedelta(minutes=15),
) -> Callable[[JobFn], JobFn]:
    """Register ``fn`` to run every ``every``; ``lease`` bounds how long a crashed run blocks it."""
    if every <= timedelta(0):
        raise ValueError("a job's interval must be positive")

    def register(fn: JobFn) -> JobFn:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"job {name!r} is registered twice ({existing.fn.__qualname__})")
        _REGISTRY[name] = Job(name=name, every=every, help=help, fn=fn, lease=lease)
        return fn

    return register


@functools.cache
def _import_job_modules() -> None:
    """Walk the package once per process: the scheduler asks on every tick, for every job."""
    for info in pkgutil.walk_packages(puhui.__path__, prefix="puhui."):
        if info.name.endswith(".jobs") and info.name != "puhui.jobs":
            importlib.import_module(info.name)


def discover() -> dict[str, Job]:
    """Import every ``puhui.<domain>.jobs`` module and return the registry, by name."""
    _import_job_modules()
    return dict(sorted(_REGISTRY.items()))


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(
    db: SessionFactory, job: Job, holder: str, *, due_only: bool, now: datetime | None = None
) -> bool:
    """Take the job's lease with one conditional UPDATE (inserting the row the first time)."""
    now = now or utcnow()
    free = or_(JobLease.leased_until <= now, JobLease.holder.is_(None))
    condition = [JobLease.name == job.name, free]
    if due_only:
        condition.append(
            or_(JobLease.last_started_at.is_(None), JobLease.last_started_at <= now - job.every)
        )
    try:
        async with db.unit_of_work() as session:
            taken = await session.execute(
                update(JobLease)
                .where(*condition)
                .values(holder=holder, leased_until=now + job.lease, last_started_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0) == 1:
                return True
            known = await session.scalar(select(JobLease.id).where(JobLease.name == job.name))
            if known is not None:
                return False
            session.add(
                JobLease(
                    name=job.name, holder=holder, leased_until=now + job.lease, last_started_at=now
                )
            )
        return True
    except IntegrityError:  # another worker inserted the row first: it holds the lease
        return False


async def _extend(db: SessionFactory, job: Job, holder: str) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(JobLease)
            .where(JobLease.name == job.name, JobLease.holder == holder)
            .values(leased_until=utcnow() + job.lease)
            .execution_options(synchronize_session=False)
        )


async def _release(db: SessionFactory, job: Job, holder: str) -> None:
    now = utcnow()
    async with db.unit_of_work() as session:
        await session.execute(
            update(JobLease)
            .where(JobLease.name == job.name, JobLease.holder == holder)
            .values(holder=None, leased_until=now, last_finished_at=now)
            .execution_options(synchronize_session=False)
        )


async def _heartbeat(db: SessionFactory, job: Job, holder: str) -> None:
    interval = max(job.lease.total_seconds() / 3, 1.0)
    while True:
        await asyncio.sleep(interval)
        try:
            await _extend(db, job, holder)
        except Exception:  # a missed heartbeat only shortens the lease; the job goes on
            log.warning("job lease heartbeat failed", extra={"job": job.name})


async def run_job(
    name: str,
    ctx: JobContext,
    *,
    trigger: str = "cli",
    holder: str | None = None,
    due_only: bool = False,
) -> JobResult | None:
    """Run one job under its lease and record the run.

    Returns ``None`` when ``due_only`` and the job is not due (or another worker runs it).
    Raises :class:`JobBusyError` when the lease is held and the caller asked for this job now.
    """
    jobs = discover()
    job = jobs.get(name)
    if job is None:
        raise UnknownJobError(name)
    holder = holder or holder_id()
    if not await acquire(ctx.db, job, holder, due_only=due_only):
        if due_only:
            return None
        raise JobBusyError(f"job {name} is running elsewhere; try again when it has finished")
    started = utcnow()
    run = JobRun(
        name=name, trigger=trigger, holder=holder, started_at=started, outcome="running", handled=0
    )
    async with ctx.db.unit_of_work() as session:
        session.add(run)
    beat = asyncio.create_task(_heartbeat(ctx.db, job, holder))
    outcome, handled, error = "ok", 0, None
    try:
        handled = int(await job.fn(ctx) or 0)
    except Exception as exc:
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        log.exception("job failed", extra={"job": name})
    except BaseException:  # cancelled at shutdown: the run is recorded as interrupted
        outcome, error = "failed", "interrupted"
        raise
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        finished = utcnow()
        async with ctx.db.unit_of_work() as session:
            await session.execute(
                update(JobRun)
                .where(JobRun.id == run.id)
                .values(finished_at=finished, outcome=outcome, handled=handled, error=error)
                .execution_options(synchronize_session=False)
            )
        await _release(ctx.db, job, holder)
    return JobResult(
        name=name,
        outcome=outcome,
        handled=handled,
        started_at=started,
        finished_at=finished,
        error=error,
    )


@periodic(
    "jobs.prune-history", every=timedelta(days=1), help="Delete job-run history older than 90 days."
)
async def prune_history(ctx: JobContext) -> int:
    """Run history is for operators' diagnosis, not a record of business: keep 90 days."""
    from sqlalchemy import delete

    cutoff = utcnow() - timedelta(days=90)
    async with ctx.db.unit_of_work() as session:
        result = await session.execute(
            delete(JobRun).where(JobRun.started_at < cutoff, JobRun.outcome != "running")
        )
    return int(getattr(result, "rowcount", 0) or 0)
