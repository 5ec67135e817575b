"""``puhui jobs``: list the scheduled jobs, run one now (with a progress bar), show past runs."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from puhui.config import SettingsError, load_settings

__all__ = ["jobs"]

console = Console(stderr=True)


@click.group()
def jobs() -> None:
    """Scheduled jobs: `puhui serve` runs them on their interval; run one now from here."""


@jobs.command("list")
def jobs_list() -> None:
    """List every registered job with its interval and what it does."""
    from puhui.jobs import discover

    table = Table("job", "every", "what it does")
    for job in discover().values():
        table.add_row(job.name, str(job.every), job.help)
    Console().print(table)


@jobs.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run the job NAME now, under its lease (refused while another worker runs it)."""
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.jobs import JobBusyError, JobContext, JobResult, UnknownJobError, discover, run_job
    from puhui.security.keyring import data_keyring, install_keyring

    registered = discover()
    if name not in registered:
        known = ", ".join(registered) or "none"
        raise click.ClickException(f"no job named {name!r} (known: {known})")
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    install_keyring(data_keyring(settings))

    async def go() -> JobResult | None:
        engine = create_engine(settings)
        redis: Any = None
        if settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task(name, total=None)

                def report(done: int, total: int | None) -> None:
                    progress.update(task, completed=done, total=total)

                ctx = JobContext(
                    settings=settings, db=SessionFactory(engine), redis=redis, progress=report
                )
                return await run_job(name, ctx, trigger="cli")
        finally:
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    try:
        result = asyncio.run(go())
    except (JobBusyError, UnknownJobError) as exc:
        raise click.ClickException(str(exc)) from None
    if result is None:  # only a due_only run can skip; this one was asked for now
        raise click.ClickException(f"{name} did not run")
    if result.outcome != "ok":
        raise click.ClickException(f"{name} failed: {result.error}")
    seconds = (result.finished_at - result.started_at).total_seconds()
    console.print(f"[green]{name}[/]: handled {result.handled} in {seconds:.1f} s")


@jobs.command("history")
@click.option("--limit", default=20, show_default=True, help="How many recent runs to show.")
@click.option("--name", default=None, help="Only runs of this job.")
def jobs_history(limit: int, name: str | None) -> None:
    """Show recent runs: when, by whom (schedule or CLI), outcome and how many items."""
    from puhui.db.engine import create_engine
    from puhui.jobs.models import JobRun

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None

    async def go() -> list[JobRun]:
        engine = create_engine(settings)
        try:
            from puhui.db.session import SessionFactory

            async with SessionFactory(engine)() as session:
                query = select(JobRun).order_by(JobRun.started_at.desc()).limit(limit)
                if name:
                    query = query.where(JobRun.name == name)
                return list((await session.scalars(query)).all())
        finally:
            await engine.dispose()

    table = Table("started", "job", "trigger", "outcome", "handled", "error")
    for run in asyncio.run(go()):
        table.add_row(
            run.started_at.isoformat(timespec="seconds"),
            run.name,
            run.trigger,
            run.outcome,
            str(run.handled),
            (run.error or "")[:60],
        )
    Console().print(table)
