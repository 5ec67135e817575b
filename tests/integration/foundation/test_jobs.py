"""Scheduled jobs: registry, one runner per job across workers (lease), run history, scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from litestar import Litestar
from sqlalchemy import select

from puhui import jobs as jobs_module
from puhui.cli import main
from puhui.jobs import (
    JobBusyError,
    JobContext,
    UnknownJobError,
    acquire,
    discover,
    periodic,
    run_job,
)
from puhui.jobs.models import JobRun
from puhui.jobs.scheduler import run_scheduler

pytestmark = pytest.mark.anyio

calls: list[str] = []
gates: list[asyncio.Event] = []


@pytest.fixture
def test_jobs() -> Iterator[None]:
    """Register throw-away jobs for one test and remove them after it."""

    @periodic("test.count", every=timedelta(hours=1), help="Counts its runs.")
    async def count(ctx: JobContext) -> int:
        calls.append("count")
        ctx.progress(1, 1)
        return 3

    @periodic("test.fail", every=timedelta(hours=1), help="Always fails.")
    async def fail(ctx: JobContext) -> int:
        raise RuntimeError("upstream refused")

    @periodic("test.slow", every=timedelta(hours=1), help="Waits for the gate.")
    async def slow(ctx: JobContext) -> int:
        await gates[0].wait()
        return 1

    calls.clear()
    gates[:] = [asyncio.Event()]
    try:
        yield
    finally:
        for name in ("test.count", "test.fail", "test.slow"):
            jobs_module._REGISTRY.pop(name, None)


def _ctx(app: Litestar) -> JobContext:
    return JobContext(settings=app.state.settings, db=app.state.db, redis=app.state.redis)


async def _runs(app: Litestar, name: str) -> list[JobRun]:
    async with app.state.db() as session:
        rows = await session.scalars(select(JobRun).where(JobRun.name == name))
        return list(rows)


async def _reset(app: Litestar, *names: str) -> None:
    from sqlalchemy import delete

    from puhui.jobs.models import JobLease

    async with app.state.db.unit_of_work() as session:
        await session.execute(delete(JobLease).where(JobLease.name.in_(names)))
        await session.execute(delete(JobRun).where(JobRun.name.in_(names)))


def test_every_domain_job_is_discovered_with_help() -> None:
    found = discover()
    for job in found.values():
        assert job.help.strip(), f"{job.name} has no help text"
        assert job.every > timedelta(0)
        assert "." in job.name, "job names are <domain>.<what>"


def test_a_job_name_cannot_be_registered_twice_by_different_functions(test_jobs: None) -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @periodic("test.count", every=timedelta(hours=1), help="another")
        async def other(ctx: JobContext) -> int:
            return 0


async def test_a_run_is_recorded_with_its_outcome(app: Litestar, test_jobs: None) -> None:
    await _reset(app, "test.count", "test.fail")
    ok = await run_job("test.count", _ctx(app))
    assert ok is not None
    assert (ok.outcome, ok.handled) == ("ok", 3)
    failed = await run_job("test.fail", _ctx(app))
    assert failed is not None
    assert failed.outcome == "failed"
    assert failed.error == "RuntimeError: upstream refused"
    [run] = await _runs(app, "test.fail")
    assert (run.outcome, run.trigger, run.error) == (
        "failed",
        "cli",
        "RuntimeError: upstream refused",
    )
    assert run.finished_at is not None
    # The lease is free again after a failure: the job can be run at once.
    again = await run_job("test.fail", _ctx(app))
    assert again is not None


async def test_unknown_job_is_refused(app: Litestar) -> None:
    with pytest.raises(UnknownJobError):
        await run_job("no.such.job", _ctx(app))


async def test_one_runner_at_a_time_across_workers(app: Litestar, test_jobs: None) -> None:
    await _reset(app, "test.slow")
    first = asyncio.create_task(run_job("test.slow", _ctx(app), holder="worker-a"))
    for _ in range(200):  # wait until worker-a holds the lease
        if await _runs(app, "test.slow"):
            break
        await asyncio.sleep(0.01)
    with pytest.raises(JobBusyError):
        await run_job("test.slow", _ctx(app), holder="worker-b")
    assert await run_job("test.slow", _ctx(app), holder="worker-b", due_only=True) is None
    gates[0].set()
    result = await first
    assert result is not None
    assert result.outcome == "ok"
    assert len(await _runs(app, "test.slow")) == 1


async def test_due_only_waits_for_the_interval(app: Litestar, test_jobs: None) -> None:
    await _reset(app, "test.count")
    job = discover()["test.count"]
    assert await run_job("test.count", _ctx(app), due_only=True) is not None
    assert await run_job("test.count", _ctx(app), due_only=True) is None  # ran < 1 h ago
    from puhui.clock import utcnow

    later = utcnow() + job.every + timedelta(seconds=1)
    assert await acquire(app.state.db, job, "worker-c", due_only=True, now=later)


async def test_two_schedulers_run_a_due_job_once(app: Litestar, test_jobs: None) -> None:
    names = [n for n in discover() if not n.startswith("test.")]
    # Only the throw-away jobs are offered: the real ones are tested by their domains.
    saved = {n: jobs_module._REGISTRY.pop(n) for n in [*names, "test.fail", "test.slow"]}
    try:
        await _reset(app, "test.count")
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(run_scheduler(_ctx(app), tick_seconds=0.05, stop=stop))
            for _ in range(2)
        ]
        for _ in range(200):
            if calls:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # several more ticks of both schedulers
        stop.set()
        await asyncio.gather(*workers)
    finally:
        jobs_module._REGISTRY.update(saved)
    assert calls == ["count"]
    [run] = await _runs(app, "test.count")
    assert (run.trigger, run.outcome, run.handled) == ("schedule", "ok", 3)


def test_cli_lists_and_explains_jobs() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    unknown = runner.invoke(main, ["jobs", "run", "no.such.job"])
    assert unknown.exit_code != 0
    assert "no job named" in unknown.output
    for command in ("list", "run", "history"):
        helped = runner.invoke(main, ["jobs", command, "--help"])
        assert helped.exit_code == 0
        assert "Usage" in helped.output


async def test_operators_see_jobs_and_their_last_run(
    app: Litestar, client: object, test_jobs: None
) -> None:
    from tests.builders import member_client

    from puhui.tenancy.models import TenantKind

    await _reset(app, "test.fail")
    await run_job("test.fail", _ctx(app))
    staff, _, _ = await member_client(app, ("operator",), kind=TenantKind.BANK)
    listed = await staff.get("/api/v1/operator/jobs")
    assert listed.status_code == 200, listed.text
    by_name = {job["name"]: job for job in listed.json()}
    assert by_name["test.fail"]["last_run"]["outcome"] == "failed"
    assert by_name["test.fail"]["every_seconds"] == 3600
    assert by_name["test.count"]["running"] is False
    assert "jobs.prune-history" in by_name
    partner, _, _ = await member_client(app, ("owner",))
    refused = await partner.get("/api/v1/operator/jobs")
    assert refused.status_code in {403, 404}
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_history_older_than_90_days_is_pruned(app: Litestar) -> None:
    from puhui.clock import utcnow

    old = utcnow() - timedelta(days=91)
    async with app.state.db.unit_of_work() as session:
        session.add(
            JobRun(
                name="test.old",
                trigger="schedule",
                holder="h",
                started_at=old,
                finished_at=old,
                outcome="ok",
                handled=0,
            )
        )
    await run_job("jobs.prune-history", _ctx(app))
    assert await _runs(app, "test.old") == []
