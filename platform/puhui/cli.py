"""The ``puhui`` command: serve, migrate, seed, export the OpenAPI contract, manage tenants."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from puhui.config import Settings, SettingsError, load_settings

__all__ = ["main"]

T = TypeVar("T")
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="puhui")
def main() -> None:
    """Puhui Open Platform: open banking for inclusive SME lending (JR/T 0269-2023).

    Settings come from PUHUI_* environment variables (see README).
    """


# ---------------------------------------------------------------- serve
@main.command()
@click.option("--host", default=None, help="Interface to bind (default PUHUI_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default PUHUI_PORT, 8000).")
@click.option(
    "--workers", default=None, type=int, help="Worker processes (default PUHUI_WORKERS, 1)."
)
@click.option(
    "--sandbox/--no-sandbox-setup",
    "setup",
    default=False,
    help="Migrate and seed the sandbox before serving, and print the sandbox log-ins.",
)
def serve(host: str | None, port: int | None, workers: int | None, setup: bool) -> None:
    """Serve the API and the portal."""
    import uvicorn

    settings = _settings()
    from puhui.notify import NotifierNotConfigured, require_notifier

    try:  # before any worker starts: production never runs on the sandbox notifier
        require_notifier(settings)
    except NotifierNotConfigured as exc:
        raise click.ClickException(str(exc)) from None
    if setup:
        _upgrade(settings)
        logins = _seed(settings)
        _print_welcome(settings, logins)
    if workers:  # the workers read it: without Redis, shared OAuth state then lives in the DB
        os.environ["PUHUI_WORKERS"] = str(workers)
    uvicorn.run(
        "puhui.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )


def _print_welcome(settings: Settings, logins: list[Any]) -> None:
    from puhui.seed import SANDBOX_PASSWORD

    table = Table(title="Sandbox log-ins (password for all: " + SANDBOX_PASSWORD + ")")
    table.add_column("tenant")
    table.add_column("e-mail")
    table.add_column("roles")
    for login in logins:
        table.add_row(login.tenant, login.email, ", ".join(login.roles))
    console.print(table)
    console.print(f"Portal:    {settings.issuer}/portal   (partners: sign up, or a log-in above)")
    console.print(f"Console:   {settings.issuer}/console  (bank staff)")
    console.print(f"Consents:  {settings.issuer}/consent-centre  (SME customers)")
    console.print(f"API:       {settings.issuer}/api/v1/catalogue")
    console.print(f"OpenAPI:   {settings.issuer}/schema/openapi.json")
    console.print(f"Health:    {settings.issuer}/health/ready")


# ---------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Database schema (Alembic migrations are the only schema source)."""


def _upgrade(settings: Settings, revision: str = "heads") -> None:
    from puhui.db.migrate import upgrade

    with console.status(f"Migrating database to {revision}…"):
        upgrade(settings, revision)


@db.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: heads)."""
    _upgrade(_settings(), revision)
    console.print("[green]database is up to date[/]")


@db.command("downgrade")
@click.argument("revision", default="base")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_downgrade(revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION (default: base, which drops everything)."""
    from puhui.db.migrate import downgrade

    if not yes:
        click.confirm(
            f"Downgrade the database to {revision}? Data in dropped tables is lost.", abort=True
        )
    downgrade(_settings(), revision)
    console.print(f"[yellow]database downgraded to {revision}[/]")


# ---------------------------------------------------------------- seed
def _seed(settings: Settings) -> list[Any]:
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.seed import SANDBOX_TENANTS, seed_sandbox

    async def go() -> list[Any]:
        engine = create_engine(settings)
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("Seeding sandbox", total=len(SANDBOX_TENANTS))
                return await seed_sandbox(
                    settings, SessionFactory(engine), progress=lambda _code: progress.advance(task)
                )
        finally:
            await engine.dispose()

    try:
        return _run(go())
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
def seed() -> None:
    """Seed the sandbox (bank operator, partner tenants and members). Safe to rerun."""
    settings = _settings()
    logins = _seed(settings)
    _print_welcome(settings, logins)


# ---------------------------------------------------------------- openapi
@main.group()
def openapi() -> None:
    """The OpenAPI contract."""


@openapi.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("openapi/openapi.json"),
    show_default=True,
    help="Where to write the document.",
)
@click.option(
    "--check", is_flag=True, help="Do not write; exit 1 if the file differs from the app."
)
def openapi_export(out: Path, check: bool) -> None:
    """Write the app's OpenAPI 3.1 document (with x-puhui-* catalogue extensions)."""
    from puhui.openapi_export import render_openapi

    text = render_openapi()
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            raise click.ClickException(f"{out} is stale: run `puhui openapi export`")
        console.print(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}")


# ---------------------------------------------------------------- tenants
@main.group()
def tenants() -> None:
    """Partner tenants (the operator console and API do the same with an audit trail)."""


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tenants_list(as_json: bool) -> None:
    """List tenants."""
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.tenancy.repository import TenantRepository

    settings = _settings()

    async def go() -> list[dict[str, str]]:
        engine = create_engine(settings)
        try:
            async with SessionFactory(engine).unit_of_work() as session:
                rows = await TenantRepository(session).list(limit=10_000)
                return [
                    {
                        "id": str(t.id),
                        "code": t.code,
                        "name": t.name,
                        "kind": t.kind.value,
                        "status": t.status.value,
                    }
                    for t in rows
                ]
        finally:
            await engine.dispose()

    rows = _run(go())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("code", "name", "kind", "status", "id")
    for r in rows:
        table.add_row(r["code"], r["name"], r["kind"], r["status"], r["id"])
    Console().print(table)


@tenants.command("set-status")
@click.argument("code")
@click.argument("status", type=click.Choice(["active", "suspended"]))
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def tenants_set_status(code: str, status: str, reason: str) -> None:
    """Activate or suspend the tenant with CODE (audited as a CLI action)."""
    from puhui.audit import record_event
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.tenancy.models import TenantKind, TenantStatus
    from puhui.tenancy.repository import TenantRepository
    from puhui.tenancy.service import TENANT_TRANSITIONS

    settings = _settings()

    async def go() -> None:
        engine = create_engine(settings)
        try:
            async with SessionFactory(engine).unit_of_work() as session:
                tenant = await TenantRepository(session).by_code(code)
                if tenant is None:
                    raise click.ClickException(f"no tenant with code {code!r}")
                target = TenantStatus(status)
                if (
                    tenant.kind is TenantKind.BANK
                    or target not in TENANT_TRANSITIONS[tenant.status]
                ):
                    raise click.ClickException(
                        f"a {tenant.status.value} {tenant.kind.value} tenant cannot become {status}"
                    )
                previous = tenant.status
                tenant.status = target
                tenant.status_reason = reason
                record_event(
                    session,
                    f"cli.tenant_{status}",
                    target_tenant_id=tenant.id,
                    target=f"tenant:{tenant.id}",
                    reason=reason,
                    details={"from": previous.value, "to": status},
                )
        finally:
            await engine.dispose()

    _run(go())
    console.print(f"{code} is now {status}")


def _attach_domain_groups() -> None:
    """Command groups owned by other domains."""
    from puhui.risk.cli import risk

    main.add_command(risk)
    from puhui.servicing.cli import ledger, servicing

    main.add_command(ledger)
    main.add_command(servicing)
    from puhui.oauth.cli import keys as oauth_keys

    main.add_command(oauth_keys)
    from puhui.security.cli import audit, keys, rotate_data

    main.add_command(audit)
    # `keys` is shared with the OAuth domain (`keys rotate`): join whichever group exists.
    existing = main.commands.get("keys")
    if isinstance(existing, click.Group):
        existing.add_command(rotate_data)
    else:
        keys.add_command(rotate_data)
        main.add_command(keys)
    from puhui.jobs.cli import jobs as scheduled_jobs

    main.add_command(scheduled_jobs)
    from puhui.scenario.cli import connector

    main.add_command(connector)  # retention: `puhui jobs run scenario.retention`


_attach_domain_groups()
