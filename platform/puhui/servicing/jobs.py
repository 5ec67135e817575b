"""Daily servicing batch and the scheduled servicing jobs (``puhui.jobs``).

Accrual and classification, auto-debit, disbursement reconciliation, early warnings, renewal
pre-assessment and model monitoring each run as a job: ``puhui jobs run servicing.<name>`` or on
``puhui serve``'s schedule. Each loan is handled in its own unit of work so one bad loan never
rolls back the others, and every posting carries an event key, so running a day twice changes
nothing the second time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import NotFound
from puhui.jobs import JobContext, periodic
from puhui.lending.delinquency import DEFAULT_RULES, ClassificationRules
from puhui.lending.service import scenario_features
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry, RuleSetRegistry
from puhui.servicing.disbursement import CoreBankRail, DisbursementDesk, PaymentRail
from puhui.servicing.early_warning import run_warnings
from puhui.servicing.limits import LimitReleaser, UnifiedLimit
from puhui.servicing.loans import accrue_penalty, classify_loan, receivables, recognise_due
from puhui.servicing.renewal import RenewalPolicy, ScenarioRenewalInputs, run_renewals
from puhui.servicing.repayments import receive
from puhui.servicing.repository import LoanRepository
from puhui.servicing.revalidation import run_revalidation

__all__ = [
    "CollectionRun",
    "DailyRun",
    "accrual_job",
    "active_loans",
    "auto_debit_job",
    "collect_due",
    "monitoring_job",
    "reconcile_job",
    "renewal_job",
    "run_daily",
    "warnings_job",
]

log = logging.getLogger("puhui.servicing.jobs")
Progress = Callable[[int, int | None], None]


async def active_loans(
    sessions: SessionFactory, batch: int = 500
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, loan) of every active loan, read across tenants for the bank's batch."""
    out: list[tuple[uuid.UUID, uuid.UUID]] = []
    cursor: uuid.UUID | None = None
    async with sessions.unit_of_work() as session:
        with tenant_bypass(session, "servicing.batch.scan"):
            repo = LoanRepository(session)
            while ids := await repo.active_ids(after=cursor, limit=batch):
                for loan_id in ids:
                    out.append(((await repo.get(loan_id)).tenant_id, loan_id))
                cursor = ids[-1]
    return out


@dataclass(frozen=True, slots=True)
class DailyRun:
    loans: int
    penalty_fen: int
    overdue_loans: int


async def run_daily(
    sessions: SessionFactory,
    as_of: date,
    rules: ClassificationRules = DEFAULT_RULES,
    progress: Progress | None = None,
) -> DailyRun:
    """Recognise due instalments, accrue penalty to ``as_of`` and reclassify each active loan."""
    penalty = overdue = 0
    loans = await active_loans(sessions)
    for done, (tenant_id, loan_id) in enumerate(loans, 1):
        if progress is not None:
            progress(done, len(loans))
        async with sessions.unit_of_work(tenant_id) as session:
            repo = LoanRepository(session)
            loan = await repo.get_for_update(loan_id)
            lines = list(await repo.lines(loan_id))
            await recognise_due(session, loan, lines, as_of)
            penalty += await accrue_penalty(session, loan, lines, as_of)
            classify_loan(loan, lines, as_of, rules)
            overdue += loan.dpd > 0
    return DailyRun(len(loans), penalty, overdue)


@dataclass(frozen=True, slots=True)
class CollectionRun:
    attempted: int
    collected_fen: int


async def collect_due(
    sessions: SessionFactory,
    rail: PaymentRail,
    as_of: date,
    releaser: LimitReleaser,
    progress: Progress | None = None,
) -> CollectionRun:
    """Auto-debit what is due by ``as_of`` from each borrower's settlement account.

    The debit's idempotency key names loan and day, and the repayment reuses it: a crash
    between debit and booking is healed by running again (the rail returns the same debit).
    """
    attempted = collected = 0
    loans = await active_loans(sessions)
    for done, (tenant_id, loan_id) in enumerate(loans, 1):
        if progress is not None:
            progress(done, len(loans))
        async with sessions.unit_of_work(tenant_id) as session:
            repo = LoanRepository(session)
            loan = await repo.get(loan_id)
            lines = await repo.lines(loan_id)
            due = sum(r.total for r in receivables(lines) if r.due_date <= as_of)
            account = loan.settlement_account
        if due <= 0:
            continue
        attempted += 1
        key = f"autodebit:{loan_id.hex}:{as_of.isoformat()}"
        debit = await rail.auto_debit(key, due, account, f"loan {loan_id} instalment")
        if debit.collected_fen <= 0:
            continue
        async with sessions.unit_of_work(tenant_id) as session:
            loan = await LoanRepository(session).get_for_update(loan_id)
            await receive(
                session,
                loan,
                amount=debit.collected_fen,
                received_on=as_of,
                idempotency_key=key,
                channel="auto_debit",
                releaser=releaser,
                rail_reference=debit.debit_id,
            )
        collected += debit.collected_fen
    return CollectionRun(attempted, collected)


# --- scheduled jobs: the business date is today (UTC) by the one clock ---

DAILY = timedelta(days=1)


@periodic(
    "servicing.accrual",
    every=DAILY,
    help="Recognise due instalments, accrue penalty interest, days past due and loan class.",
)
async def accrual_job(ctx: JobContext) -> int:
    return (await run_daily(ctx.db, utcnow().date(), progress=ctx.progress)).loans


@periodic(
    "servicing.auto_debit",
    every=DAILY,
    help="Auto-debit what is due from each borrower's settlement account (idempotent per day).",
)
async def auto_debit_job(ctx: JobContext) -> int:
    rail = CoreBankRail.connect(ctx.settings.corebank_url)
    try:
        run = await collect_due(
            ctx.db, rail, utcnow().date(), UnifiedLimit(), progress=ctx.progress
        )
    finally:
        await rail.aclose()
    return run.attempted


@periodic(
    "servicing.reconcile",
    every=timedelta(minutes=5),
    help="Settle disbursements whose outcome a crashed or timed-out worker never stored.",
)
async def reconcile_job(ctx: JobContext) -> int:
    rail = CoreBankRail.connect(ctx.settings.corebank_url)
    try:
        return await DisbursementDesk(ctx.db, rail).reconcile()
    finally:
        await rail.aclose()


@periodic(
    "servicing.warnings",
    every=DAILY,
    help="Post-loan early-warning rules over the latest scenario data (JR/T 0269 9.5).",
)
async def warnings_job(ctx: JobContext) -> int:
    run = await run_warnings(ctx.db, scenario_features, utcnow().date())
    return run.loans_checked


@periodic(
    "servicing.renewal",
    every=DAILY,
    help="Renewal pre-assessment of loans maturing within 30 days (JR/T 0269 8.5.2 b).",
    lease=timedelta(hours=1),
)
async def renewal_job(ctx: JobContext) -> int:
    try:
        async with ctx.db.unit_of_work() as session:
            policy = RenewalPolicy(
                ruleset=await RuleSetRegistry(session).in_force(utcnow()),
                scorer=await ModelRegistry(session).active_scorer(),
                limit_policy=SANDBOX_LIMIT_POLICY,
            )
    except NotFound as exc:  # no rule set or model yet: nothing can be re-decided
        log.warning("renewal pre-assessment skipped: %s", exc.detail)
        return 0
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        ctx.progress(done, None)

    run = await run_renewals(
        ctx.db,
        ScenarioRenewalInputs(scenario_features),
        policy,
        as_of=utcnow().date(),
        progress=advance,
    )
    return run.considered


@periodic(
    "servicing.monitoring",
    every=DAILY,
    help="Model re-validation on stored decisions: PSI, KS/AUC, bad rate by grade; PSI alerts.",
)
async def monitoring_job(ctx: JobContext) -> int:
    try:
        run = await run_revalidation(ctx.db, progress=ctx.progress)
    except NotFound as exc:  # no active model: nothing to re-validate
        log.warning("model monitoring skipped: %s", exc.detail)
        return 0
    return run.recent
