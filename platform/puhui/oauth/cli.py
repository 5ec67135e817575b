"""`puhui keys rotate|show|software-statement`: the bank's token signing keys and statements."""

from __future__ import annotations

from datetime import timedelta

import click
from rich.console import Console
from rich.table import Table

from puhui.clock import utcnow
from puhui.config import Settings, SettingsError, load_settings
from puhui.oauth.jwt_tokens import MAX_ACCESS_TOKEN_LIFETIME
from puhui.oauth.keys import KeyRing, Keyset, load_or_create, rotate
from puhui.oauth.runtime import ACCESS_TOKEN_PURPOSE, STATEMENT_PURPOSE
from puhui.oauth.software_statement import SoftwareStatement, issue_software_statement

__all__ = ["keys"]

console = Console()


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _table(keyset: Keyset) -> Table:
    table = Table(title=f"{keyset.purpose} keys")
    table.add_column("kid", overflow="fold")
    for column in ("alg", "state", "created", "verifies until"):
        table.add_column(column, overflow="fold")
    for key in keyset.keys:
        until = key.retired_until.isoformat(timespec="seconds") if key.retired_until else "-"
        table.add_row(
            key.kid, key.alg, key.state.value, key.created_at.isoformat(timespec="seconds"), until
        )
    return table


@click.group()
def keys() -> None:
    """Key management."""


@keys.command("rotate")
@click.option(
    "--purpose",
    type=click.Choice([ACCESS_TOKEN_PURPOSE, STATEMENT_PURPOSE]),
    default=ACCESS_TOKEN_PURPOSE,
    show_default=True,
    help="Which keyset to rotate.",
)
@click.option(
    "--retain-seconds",
    type=click.IntRange(int(MAX_ACCESS_TOKEN_LIFETIME.total_seconds()), 7 * 86400),
    default=int(MAX_ACCESS_TOKEN_LIFETIME.total_seconds()),
    show_default=True,
    help="How long the old active key keeps verifying (at least the 600 s token lifetime).",
)
def rotate_signing(purpose: str, retain_seconds: int) -> None:
    """Promote the next signing key to active and publish a new next key.

    The old active key stays in the JWKS and keeps verifying until every token it signed has
    expired, so no unexpired token is invalidated. Every worker picks the change up within a
    second (the key file is re-read when it changes).
    """
    settings = _settings()
    load_or_create(settings.key_dir, purpose=purpose)
    keyset = rotate(
        settings.key_dir, utcnow(), purpose=purpose, retain_for=timedelta(seconds=retain_seconds)
    )
    console.print(_table(keyset))
    console.print(f"[green]Rotated.[/green] Active key is now [bold]{keyset.active.kid}[/bold].")


@keys.command("show")
@click.option(
    "--purpose",
    type=click.Choice([ACCESS_TOKEN_PURPOSE, STATEMENT_PURPOSE]),
    default=ACCESS_TOKEN_PURPOSE,
    show_default=True,
)
def show(purpose: str) -> None:
    """List the signing keys of a keyset and their states (no private material)."""
    console.print(_table(load_or_create(_settings().key_dir, purpose=purpose)))


@keys.command("software-statement")
@click.option("--tenant-id", required=True, help="The partner (tenant) the software belongs to.")
@click.option("--software-id", required=True, help="The partner's stable id for the software.")
@click.option("--name", "client_name", required=True, help="Client name shown to customers.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI.")
@click.option("--scope", "scopes", multiple=True, required=True, help="A scope it may ask for.")
@click.option("--jwks-uri", default=None, help="Where the client publishes its keys.")
def software_statement(
    tenant_id: str,
    software_id: str,
    client_name: str,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
    jwks_uri: str | None,
) -> None:
    """Sign an RFC 7591 software statement a partner presents at /oauth/register."""
    settings = _settings()
    load_or_create(settings.key_dir, purpose=STATEMENT_PURPOSE)
    statement = SoftwareStatement(
        software_id=software_id,
        tenant_id=tenant_id,
        client_name=client_name,
        redirect_uris=redirect_uris,
        scope=frozenset(scopes),
        jwks_uri=jwks_uri,
        grant_types=("authorization_code", "refresh_token", "client_credentials"),
    )
    ring = KeyRing(settings.key_dir, purpose=STATEMENT_PURPOSE)
    click.echo(issue_software_statement(ring, statement, issuer=settings.issuer))
