"""`puhui audit verify|seal|archive` and `puhui keys rotate-data`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from puhui.config import Settings, SettingsError, load_settings

__all__ = ["audit", "keys", "rotate_data"]

T = TypeVar("T")
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


# ---------------------------------------------------------------- audit
@click.group()
def audit() -> None:
    """The tamper-evident audit trail (JR/T 0185-2020)."""


@audit.command("verify")
@click.option("--day", "day", default=None, help="Only this day (YYYY-MM-DD, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def audit_verify(day: str | None, as_json: bool) -> None:
    """Re-walk each day's hash chain; exit 1 if any record was changed, removed or reordered."""
    from puhui.audit.verify import verify_days
    from puhui.db.engine import create_engine

    settings = _settings()
    try:
        only = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--day") from None

    async def go() -> list[Any]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                return await verify_days(conn, only)
        finally:
            await engine.dispose()

    verdicts = _run(go())
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "day": v.day.isoformat(),
                        "records": v.records,
                        "ok": v.ok,
                        "archived": v.archived,
                        "first_bad_seq": v.first_bad_seq,
                        "reason": v.reason,
                    }
                    for v in verdicts
                ]
            )
        )
    else:
        table = Table("day", "records", "chain", "first bad seq", "reason")
        for v in verdicts:
            state = "archived" if v.archived and v.ok else ("intact" if v.ok else "BROKEN")
            table.add_row(
                v.day.isoformat(),
                str(v.records),
                state,
                str(v.first_bad_seq or ""),
                v.reason or "",
            )
        Console().print(table)
    if not all(v.ok for v in verdicts):
        raise SystemExit(1)


@audit.command("seal")
def audit_seal() -> None:
    """Seal domain events committed while no server ran (the server does this by itself)."""
    from puhui.audit.writer import AuditWriter
    from puhui.db.engine import create_engine

    settings = _settings()

    async def go() -> None:
        engine = create_engine(settings)
        try:
            await AuditWriter(engine).seal_pending()
        finally:
            await engine.dispose()

    _run(go())
    console.print("pending audit records sealed")


@audit.command("archive")
@click.option(
    "--to",
    "archive_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Archive directory (default <PUHUI_VAR_DIR>/audit-archive).",
)
def audit_archive(archive_dir: Path | None) -> None:
    """Archive days older than PUHUI_AUDIT_RETENTION_DAYS to JSON lines, then purge them."""
    from puhui.audit.retention import archive_and_purge
    from puhui.audit.retention import archive_dir as default_archive_dir
    from puhui.audit.writer import AuditWriter
    from puhui.db.engine import create_engine

    settings = _settings()
    target = archive_dir or default_archive_dir(settings)

    async def go() -> list[Any]:
        engine = create_engine(settings)
        writer = AuditWriter(engine)
        try:
            return await archive_and_purge(engine, writer, target, settings.audit_retention_days)
        finally:
            await writer.close()
            await engine.dispose()

    for day in _run(go()):
        console.print(f"{day.day}: {day.records} records -> {day.path} (sha256 {day.sha256})")


# ---------------------------------------------------------------- keys
@click.group()
def keys() -> None:
    """Key management."""


@click.command("rotate-data")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--resume",
    is_flag=True,
    help="Do not add a key version; finish re-encrypting under the current one.",
)
def rotate_data(batch_size: int, resume: bool) -> None:
    """Add a data-key version and re-encrypt every sealed C2/C3 value under it (resumable)."""
    from puhui.audit import record_event
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.security.keyring import (
        DataKeyError,
        add_data_key,
        data_keyring,
        install_keyring,
    )
    from puhui.security.rotation import pending_rows, rotate_model, sealed_models

    settings = _settings()
    try:
        if not resume:
            version = add_data_key(settings)
            console.print(f"data key version {version} is now current")
        install_keyring(data_keyring(settings))
    except (DataKeyError, FileNotFoundError) as exc:
        raise click.ClickException(
            f"cannot rotate data keys here: {exc}. With PUHUI_DATA_KEYS, add the new version "
            "to the secret store, set PUHUI_DATA_KEY_CURRENT, then run with --resume."
        ) from None

    async def go() -> int:
        engine = create_engine(settings)
        db = SessionFactory(engine)
        try:
            targets = sealed_models()
            counts = {t.name: await pending_rows(db, t) for t in targets}
            total = sum(counts.values())
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("re-encrypting", total=total)
                done = 0
                for target in targets:
                    if not counts[target.name]:
                        continue
                    progress.update(task, description=f"re-encrypting {target.name}")
                    done += await rotate_model(
                        db,
                        target,
                        batch_size=batch_size,
                        progress=lambda n: progress.advance(task, n),
                    )
            async with db.unit_of_work() as session:
                record_event(
                    session,
                    "keys.rotate_data",
                    target="data-keyring",
                    details={"rows": done, "tables": {k: v for k, v in counts.items() if v}},
                )
            return done
        finally:
            await engine.dispose()

    rows = _run(go())
    console.print(f"{rows} rows re-encrypted")
