"""``puhui connector`` (list, scaffold) and ``puhui jobs retention``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from puhui.config import SettingsError, load_settings

__all__ = ["connector", "jobs"]

console = Console(stderr=True)


@click.group()
def connector() -> None:
    """Scenario connectors: what is installed, and a kit to build a new one."""


@connector.command("list")
def connector_list() -> None:
    """Connectors installed through the ``puhui.connectors`` entry points."""
    from puhui.scenario.hosted import hosted_connectors

    table = Table("name", "version", "category", "modes", "data source")
    for spec in hosted_connectors().specs():
        modes = ", ".join(sorted(str(m) for m in spec.modes))
        table.add_row(spec.name, spec.version, str(spec.category), modes, spec.data_source)
    Console().print(table)


@connector.command("new")
@click.argument("name")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("connectors"),
    show_default=True,
    help="Directory the package is created in.",
)
@click.option("--title", default=None, help="Human title (default: from NAME).")
def connector_new(name: str, into: Path, title: str | None) -> None:
    """Scaffold a working connector package NAME: contract, simulator, features and tests."""
    from connectors.scaffold import ScaffoldError, scaffold

    try:
        created = scaffold(name, into, title=title)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"[green]created {created}[/]")
    console.print(f"run its tests:  .venv/bin/python -m pytest {created / 'tests'}")
    console.print(
        'register it in pyproject.toml under [project.entry-points."puhui.connectors"]:\n'
        f'  {name} = "connectors.{name}:connector"   then: pip install -e .'
    )


@click.group()
def jobs() -> None:
    """Batch jobs."""


@jobs.command("retention")
@click.option("--batch", default=500, show_default=True, help="Records per transaction.")
def jobs_retention(batch: int) -> None:
    """Destroy expired scenario data and data of consents no longer active (JR/T 0269 6.1)."""
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.scenario.jobs import RetentionReport, enforce_retention
    from puhui.security.keyring import data_keyring, install_keyring

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    install_keyring(data_keyring(settings))

    async def go() -> RetentionReport:
        engine = create_engine(settings)
        try:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("Enforcing retention", total=None)
                return await enforce_retention(
                    SessionFactory(engine),
                    batch=batch,
                    progress=lambda n: progress.advance(task, n),
                )
        finally:
            await engine.dispose()

    report = asyncio.run(go())
    table = Table(
        "destroyed (expired)", "destroyed (consent ended)", "kept on other basis", "enterprises"
    )
    table.add_row(
        str(report.expired_destroyed),
        str(report.revoked_destroyed),
        str(report.kept_on_other_basis),
        str(report.enterprises),
    )
    Console().print(table)
