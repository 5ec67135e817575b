"""Operators see every scheduled job, its interval and how its recent runs went."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Router, get
from sqlalchemy import select

from puhui.deps import Db
from puhui.gateway.catalogue import declare
from puhui.jobs import discover
from puhui.jobs.models import JobLease, JobRun

__all__ = ["JobRead", "jobs_router"]


class JobRunRead(msgspec.Struct, frozen=True):
    trigger: str
    outcome: str
    handled: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None


class JobRead(msgspec.Struct, frozen=True):
    name: str
    every_seconds: int
    help: str
    running: bool
    last_run: JobRunRead | None


class OperatorJobController(Controller):
    path = "/api/v1/operator/jobs"

    @get(
        "/",
        **declare(
            operation_id="OperatorListJobs",
            summary="Scheduled jobs with their interval and last run",
            tag="Operator",
            level="A1",
            service="91",
            sequence=1,
            audience="operator",
        ),
    )
    async def list_jobs(self, db: Db) -> list[JobRead]:
        jobs = discover()
        leases = {
            lease.name: lease
            for lease in await db.scalars(select(JobLease).where(JobLease.name.in_(jobs)))
        }
        last: dict[str, JobRun] = {}
        for name in jobs:  # a handful of jobs: one indexed query each beats scanning history
            run = await db.scalar(
                select(JobRun)
                .where(JobRun.name == name)
                .order_by(JobRun.started_at.desc())
                .limit(1)
            )
            if run is not None:
                last[name] = run
        now_held = {name for name, lease in leases.items() if lease.holder is not None}
        return [
            JobRead(
                name=job.name,
                every_seconds=int(job.every.total_seconds()),
                help=job.help,
                running=job.name in now_held,
                last_run=None
                if job.name not in last
                else JobRunRead(
                    trigger=last[job.name].trigger,
                    outcome=last[job.name].outcome,
                    handled=last[job.name].handled,
                    started_at=last[job.name].started_at,
                    finished_at=last[job.name].finished_at,
                    error=last[job.name].error,
                ),
            )
            for job in jobs.values()
        ]


def jobs_router() -> Router:
    return Router(path="/", route_handlers=[OperatorJobController])
