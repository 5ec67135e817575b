"""``puhui connector``: list what is installed, scaffold a new one.

Retention is a scheduled job (``scenario.retention`` in :mod:`puhui.scenario.jobs`): ``puhui
serve`` runs it, ``puhui jobs run scenario.retention`` runs it now with a progress bar.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

__all__ = ["connector"]

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
