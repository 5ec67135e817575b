"""``puhui ledger`` and ``puhui servicing``: trial balance, the sandbox core bank, batch jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from puhui.clock import utcnow
from puhui.config import Settings, SettingsError, load_settings
from puhui.db.session import SessionFactory

__all__ = ["ledger", "servicing"]

T = TypeVar("T")
console = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _with_sessions(job: Callable[[SessionFactory, Settings], Awaitable[T]]) -> T:
    from puhui.db.engine import create_engine
    from puhui.db.models import load_all_models

    load_all_models()  # foreign keys name other domains' tables
    settings = _settings()

    async def go() -> T:
        engine = create_engine(settings)
        try:
            return await job(SessionFactory(engine), settings)
        finally:
            await engine.dispose()

    coro: Coroutine[Any, Any, T] = go()
    return asyncio.run(coro)


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else utcnow().date()


@click.group()
def ledger() -> None:
    """The servicing ledger."""


@ledger.command("trial-balance")
def trial_balance_command() -> None:
    """Debits and credits per account over every posting; exits 1 when out of balance."""
    from puhui.db.session import tenant_bypass
    from puhui.servicing.ledger import TrialBalance, trial_balance

    async def job(sessions: SessionFactory, _settings: Settings) -> TrialBalance:
        async with sessions.unit_of_work() as session:
            with tenant_bypass(session, "cli.ledger.trial_balance"):
                return await trial_balance(session)

    tb = _with_sessions(job)
    table = Table(title=f"Trial balance ({tb.entries} entries)")
    for column in ("account", "debit (fen)", "credit (fen)", "balance (fen)"):
        table.add_column(column, justify="left" if column == "account" else "right")
    for line in tb.lines:
        table.add_row(
            line.account.value, f"{line.debit:,}", f"{line.credit:,}", f"{line.balance:,}"
        )
    table.add_row("total", f"{tb.total_debit:,}", f"{tb.total_credit:,}", "")
    out.print(table)
    if not tb.balanced:
        raise click.ClickException(f"out of balance: {tb.unbalanced_entries} broken entries")
    out.print("balanced")


@click.group()
def servicing() -> None:
    """Loan servicing batch jobs and the sandbox core-banking system."""


@servicing.command("corebank")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8790, type=int, show_default=True)
def corebank(host: str, port: int) -> None:
    """Serve the sandbox core-banking simulator (loopback by default)."""
    import uvicorn

    from puhui.servicing.corebank_simulator import create_corebank_app

    uvicorn.run(create_corebank_app(), host=host, port=port, log_config=None, access_log=False)


@servicing.command("disburse")
@click.argument("tenant_id")
@click.argument("loan_id")
def disburse(tenant_id: str, loan_id: str) -> None:
    """Disburse one signed loan through the core bank (idempotent)."""
    import uuid

    from puhui.servicing.disbursement import CoreBankRail, DisbursementDesk

    async def job(sessions: SessionFactory, settings: Settings) -> str:
        rail = CoreBankRail.connect(settings.corebank_url, timeout_s=60)
        try:
            view = await DisbursementDesk(sessions, rail).disburse(
                uuid.UUID(tenant_id), uuid.UUID(loan_id)
            )
        finally:
            await rail.aclose()
        return view.state.value

    out.print(_with_sessions(job))


@servicing.command("reconcile")
def reconcile() -> None:
    """Settle disbursements whose outcome was never stored (after a crash or a timeout)."""
    from puhui.servicing.disbursement import CoreBankRail, DisbursementDesk

    async def job(sessions: SessionFactory, settings: Settings) -> int:
        rail = CoreBankRail.connect(settings.corebank_url)
        try:
            return await DisbursementDesk(sessions, rail).reconcile()
        finally:
            await rail.aclose()

    out.print(f"settled {_with_sessions(job)} disbursement(s)")


@servicing.command("daily")
@click.option("--as-of", default=None, help="Business date (default today, UTC).")
def daily(as_of: str | None) -> None:
    """Recognise due instalments, accrue penalty interest, classify every active loan."""
    from puhui.servicing.jobs import DailyRun, run_daily

    async def job(sessions: SessionFactory, _settings: Settings) -> DailyRun:
        return await run_daily(sessions, _day(as_of))

    run = _with_sessions(job)
    out.print(f"{run.loans} loans · {run.overdue_loans} overdue · penalty {run.penalty_fen} fen")


@servicing.command("collect")
@click.option("--as-of", default=None, help="Business date (default today, UTC).")
def collect(as_of: str | None) -> None:
    """Auto-debit what is due from each borrower's settlement account."""
    from puhui.servicing.disbursement import CoreBankRail
    from puhui.servicing.jobs import CollectionRun, collect_due
    from puhui.servicing.limits import UnifiedLimit

    async def job(sessions: SessionFactory, settings: Settings) -> CollectionRun:
        rail = CoreBankRail.connect(settings.corebank_url)
        try:
            return await collect_due(sessions, rail, _day(as_of), UnifiedLimit())
        finally:
            await rail.aclose()

    run = _with_sessions(job)
    out.print(f"{run.attempted} debits · collected {run.collected_fen} fen")


@servicing.command("warnings")
@click.option("--as-of", default=None, help="Business date (default today, UTC).")
def warnings_command(as_of: str | None) -> None:
    """Run the post-loan early-warning rules over the latest scenario data (JR/T 0269 9.5)."""
    from puhui.lending.service import scenario_features
    from puhui.servicing.early_warning import WarningRun, run_warnings

    async def job(sessions: SessionFactory, _settings: Settings) -> WarningRun:
        return await run_warnings(sessions, scenario_features, _day(as_of))

    run = _with_sessions(job)
    out.print(
        f"{run.loans_checked} loans checked · {run.warnings_raised} warnings · "
        f"{run.monitoring_stopped} monitoring stopped (consent ended)"
    )


@servicing.command("renewals")
@click.option("--as-of", default=None, help="Business date (default today, UTC).")
@click.option("--days-before", default=30, show_default=True, type=int)
@click.option("--run-key", default=None, help="Resume or repeat this run (default date+window).")
def renewals(as_of: str | None, days_before: int, run_key: str | None) -> None:
    """Renewal pre-assessment for loans maturing soon (JR/T 0269 8.5.2 b); resumable.

    The decision re-runs with the rule set in force and the active scorecard (the registries).
    """
    from puhui.lending.service import scenario_features
    from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry, RuleSetRegistry
    from puhui.servicing.renewal import (
        RenewalPolicy,
        RenewalRun,
        ScenarioRenewalInputs,
        run_renewals,
    )

    async def job(sessions: SessionFactory, _settings: Settings) -> RenewalRun:
        async with sessions.unit_of_work() as session:
            policy = RenewalPolicy(
                ruleset=await RuleSetRegistry(session).in_force(utcnow()),
                scorer=await ModelRegistry(session).active_scorer(),
                limit_policy=SANDBOX_LIMIT_POLICY,
            )
        with Progress(
            TextColumn("renewal pre-assessment"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console,
        ) as bar:  # fmt: skip
            task = bar.add_task("loans", total=None)
            return await run_renewals(
                sessions,
                ScenarioRenewalInputs(scenario_features),
                policy,
                as_of=_day(as_of),
                days_before=days_before,
                run_key=run_key,
                progress=lambda n: bar.advance(task, n),
            )

    run = _with_sessions(job)
    out.print(
        f"run {run.run_key}: {run.considered} loans · offers {run.offers} · "
        f"no data {run.skipped_no_data}"
    )


@servicing.command("monitoring-report")
@click.option("--model", "model_name", required=True, help="Model id and version for the title.")
@click.option("--development", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--recent", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
def monitoring_report(model_name: str, development: Path, recent: Path, out_path: Path) -> None:
    """PSI, KS/AUC and bad rate by grade as an HTML re-validation report (JR/T 0269 6.5.2 d)."""
    from puhui.servicing.monitoring import build_report, load_sample, render_html

    report = build_report(model_name, load_sample(development), load_sample(recent))
    out_path.write_text(render_html(report), encoding="utf-8")
    out.print(f"score PSI {report.score_psi:.4f} · report {out_path}")
    for alert in report.alerts:
        console.print(f"[red]ALERT[/red] {alert} > 0.25")
    if report.alerts:
        raise SystemExit(2)


@servicing.command("monitoring-export")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--run-key", default=None, help="A stored run (default: the newest).")
def monitoring_export(out_path: Path, run_key: str | None) -> None:
    """Write a stored model re-validation report (the servicing.monitoring job's) as HTML."""
    from puhui.servicing.models import ModelMonitoringReport
    from puhui.servicing.repository import MonitoringRepository

    async def job(sessions: SessionFactory, _settings: Settings) -> ModelMonitoringReport | None:
        async with sessions.unit_of_work() as session:
            return await MonitoringRepository(session).latest(run_key)

    report = _with_sessions(job)
    if report is None:
        raise click.ClickException("no stored report: run `puhui jobs run servicing.monitoring`")
    out_path.write_text(report.html, encoding="utf-8")
    out.print(f"{report.model_id} {report.model_version} run {report.run_key} → {out_path}")
    for alert in report.alerts:
        console.print(f"[red]ALERT[/red] {alert} > 0.25")
