"""Benchmark renewal pre-assessment: loans re-decided and offers written per second.

Target: at least 2,000 loans/s including writes, over 100,000 loans maturing in the window, on
SQLite and on PostgreSQL (``--pg URL``). The run is the real job as production runs it
(``run_renewals`` with ``ScenarioRenewalInputs(scenario_features)``): selection by maturity,
schedule lines, the borrowers' current features read from the scenario feature store (one
batch read per batch of loans), the full credit decision, offer rows and checkpoints. Set-up
stores each enterprise's 17 connector features as the connectors' feature computation writes
them (value, data source, age of data, the records behind it), values drawn from 2,000 synthetic
SME profiles (the rows of the other enterprises are copied from their profile's by the database),
so feature reads are part of the figure. The run is dated today: loans mature in ~20 days.
Run: flock /tmp/work/bench.lock .venv/bin/python bench/renewal.py [--quick] [--pg URL]
→ table on stdout, JSON in bench/results/renewal.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import Table, insert, text  # noqa: E402 - after the path setup above
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from puhui.config import load_settings  # noqa: E402
from puhui.db.engine import create_engine  # noqa: E402
from puhui.db.migrate import upgrade  # noqa: E402
from puhui.db.models import load_all_models  # noqa: E402
from puhui.db.session import SessionFactory  # noqa: E402
from puhui.lending.products import to_decision_product  # noqa: E402
from puhui.lending.schedules import LoanTerms, RepaymentMethod, build_schedule  # noqa: E402
from puhui.lending.seed import sandbox_products  # noqa: E402
from puhui.lending.service import scenario_features  # noqa: E402
from puhui.money import Rate  # noqa: E402
from puhui.risk.decision import Product  # noqa: E402
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ScorecardScorer  # noqa: E402
from puhui.risk.rulesets import default_ruleset  # noqa: E402
from puhui.risk.scorecard.model import ScorecardModel  # noqa: E402
from puhui.risk.synthetic import generate_sme_borrowers, train_sandbox_model  # noqa: E402
from puhui.scenario.models import FeatureRow  # noqa: E402
from puhui.servicing.models import Loan, LoanStatus, ScheduleLine  # noqa: E402
from puhui.servicing.renewal import (  # noqa: E402
    RenewalCandidate,
    RenewalPolicy,
    ScenarioRenewalInputs,
    run_renewals,
)
from puhui.tenancy.models import Tenant, TenantKind, TenantStatus  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "renewal.json"
TARGET = 2_000.0
TERM = 6


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, 28))


# The run is today's (features are aged by the one clock, as in production); every loan
# matures about 20 days from now, inside the 30-day window.
AS_OF = datetime.now(UTC).date()
START = _months_before(AS_OF + timedelta(days=20), TERM)
PRINCIPAL = 50_000_000
PROFILES = 2_000  # distinct borrowers drawn from the synthetic SME population


# Feature → (data types behind it, records of each in the last 12 months), as the connectors
# declare them (connectors/*/features.py); a feature's source_records name those records.
STREAMS: dict[str, tuple[tuple[str, int], ...]] = {
    "tax.revenue_trend_12m": (("tax.vat_returns", 12),),
    "tax.revenue_volatility_12m": (("tax.vat_returns", 12),),
    "tax.declared_revenue_12m_fen": (("tax.vat_returns", 12),),
    "tax.credit_grade": (("tax.credit_grades", 1),),
    "tax.arrears_outstanding_fen": (("tax.arrears", 1),),
    "tax.arrears_count_24m": (("tax.arrears", 1),),
    "payroll.headcount_change_12m": (("payroll.payroll_months", 12),),
    "payroll.headcount": (("payroll.payroll_months", 12),),
    "payroll.gross_pay_12m_fen": (("payroll.payroll_months", 12),),
    "payroll.insured_ratio": (("payroll.payroll_months", 12), ("payroll.social_insurance", 12)),
    "utilities.electricity_stability_12m": (("utilities.electricity", 12),),
    "utilities.water_stability_12m": (("utilities.water", 12),),
    "utilities.arrears_count": (("utilities.bills", 12),),
    "utilities.arrears_fen": (("utilities.bills", 12),),
    "procurement.award_value_12m_fen": (("procurement.awards", 3),),
    "procurement.award_count_12m": (("procurement.awards", 3),),
    "procurement.payer_concentration_12m": (("procurement.payments", 6),),
}


def _feature_values(n: int) -> list[dict[str, int | Decimal | str | None]]:
    """Each synthetic borrower's connector features (the population the scorecard knows)."""
    portfolio = generate_sme_borrowers(n, seed=99).columns

    def dec(column: str, i: int) -> Decimal | None:
        value = portfolio[column][i]
        return None if value is None or value != value else Decimal(str(round(float(value), 4)))

    def whole(column: str, i: int, scale: float = 1) -> int | None:
        value = portfolio[column][i]
        return None if value is None or value != value else round(float(value) * scale)

    out: list[dict[str, int | Decimal | str | None]] = []
    for i in range(n):
        invoices = whole("monthly_invoice_count", i) or 0
        grade = portfolio["tax_credit_grade"][i]
        out.append(
            {
                "tax.revenue_trend_12m": dec("tax_revenue_trend", i),
                "tax.revenue_volatility_12m": dec("tax_revenue_volatility", i),
                "tax.declared_revenue_12m_fen": 30_000_000 * invoices,
                "tax.credit_grade": str(grade) if isinstance(grade, str) else None,
                "tax.arrears_outstanding_fen": 0,
                "tax.arrears_count_24m": 0,
                "payroll.headcount_change_12m": dec("payroll_headcount_change", i),
                "payroll.headcount": 5 + invoices // 3,
                "payroll.gross_pay_12m_fen": 600_000 * invoices,
                "payroll.insured_ratio": Decimal("0.92"),
                "utilities.electricity_stability_12m": dec("utility_consumption_stability", i),
                "utilities.water_stability_12m": dec("utility_consumption_stability", i),
                "utilities.arrears_count": whole("utility_arrears_count", i),
                "utilities.arrears_fen": 150_000 * (whole("utility_arrears_count", i) or 0),
                "procurement.award_value_12m_fen": whole("procurement_award_value", i, 100),
                "procurement.award_count_12m": 0 if not portfolio["procurement_award_value"][i]
                else 2,
                "procurement.payer_concentration_12m": dec("payer_concentration", i),
            }
        )  # fmt: skip
    return out


def _record_keys() -> dict[str, list[tuple[str, str]]]:
    """Per feature, the (data type, record key) of the records behind it, in stored order."""
    months = [f"{_months_before(AS_OF, m):%Y-%m}" for m in range(12)]
    placeholder = "9" * 18  # every USCC has 18 characters: the order holds for each
    return {
        name: sorted(
            ((data_type, months[m]) for data_type, count in streams for m in range(count)),
            key=lambda key: f"{key[0]}|{placeholder}|{key[1]}",
        )
        for name, streams in STREAMS.items()
    }


def _feature_rows(
    uscc: str,
    values: dict[str, int | Decimal | str | None],
    now: datetime,
    record_keys: dict[str, list[tuple[str, str]]],
) -> list[dict[str, Any]]:
    """The rows ``refresh_features`` stores for the enterprise (connector feature results)."""
    rows: list[dict[str, Any]] = []
    for name, value in values.items():
        if value is None:
            kind, text, reason = "none", None, "insufficient_data"
        elif isinstance(value, int):
            kind, text, reason = "int", str(value), None
        elif isinstance(value, Decimal):
            kind, text, reason = "decimal", str(value), None
        else:
            kind, text, reason = "code", value, None
        source = name.split(".", 1)[0]
        rows.append(
            {
                "id": uuid.uuid4(), "uscc": uscc, "data_source": source, "name": name,
                "version": 1, "value_kind": kind, "value_text": text, "as_of": AS_OF,
                "computed_at": now, "reason": reason,
                "data_as_of": now - timedelta(days=2 if source == "tax" else 5),
                "source_records": [f"{t}|{uscc}|{k}" for t, k in record_keys[name]],
                "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    return rows


async def populate(sessions: SessionFactory, n: int, product_code: str) -> None:
    schedule = build_schedule(
        LoanTerms(
            principal=PRINCIPAL,
            rate=Rate(Decimal("0.05")),
            term_months=TERM,
            start_date=START,
            method=RepaymentMethod.BULLET,
        )
    )
    line = schedule.instalments[0]
    tenant_id = uuid.uuid4()
    async with sessions.unit_of_work() as session:
        session.add(
            Tenant(
                id=tenant_id, code=f"bench-{tenant_id.hex[:8]}", name="Bench channel",
                kind=TenantKind.SCENARIO_PROVIDER, status=TenantStatus.ACTIVE,
            )
        )  # fmt: skip
    population = _feature_values(min(n, PROFILES))
    record_keys = _record_keys()
    now = datetime.now(UTC)
    chunk = 5_000
    for first in range(0, n, chunk):
        loans: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        features: list[dict[str, Any]] = []
        for i in range(first, min(first + chunk, n)):
            loan_id = uuid.uuid4()
            if i < len(population):
                features.extend(
                    _feature_rows(f"9133010600{i:08d}", population[i], now, record_keys)
                )
            loans.append(
                {
                    "id": loan_id, "tenant_id": tenant_id, "customer_id": uuid.uuid4(),
                    "enterprise_uscc": f"9133010600{i:08d}", "enterprise_name": f"企业{i}",
                    "settlement_account": f"6222{i:012d}", "product_code": product_code,
                    "product_version": "1", "revolving": False, "principal": PRINCIPAL,
                    "annual_rate": "0.05", "term_months": TERM, "method": "bullet",
                    "day_count": "30/360", "repayment_day": START.day, "instalment_fee": 0,
                    "upfront_fee": 0, "penalty_markup": "0.5",
                    "allocation_order": ["penalty", "fees", "interest", "principal"],
                    "start_date": START, "maturity_date": schedule.maturity_date,
                    "schedule_version": 1, "schedule_principal": PRINCIPAL,
                    "schedule_start": START, "level_amount": 0, "apr": "5.0000",
                    "status": LoanStatus.ACTIVE.value, "dpd": 0, "bucket": "M0",
                    "loan_class": "normal", "classification_reasons": [], "flags": [],
                    "monitoring_active": True, "limit_frozen": False, "version": 1,
                    "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC),
                }
            )  # fmt: skip
            lines.append(
                {
                    "id": uuid.uuid4(), "tenant_id": tenant_id, "loan_id": loan_id,
                    "schedule_version": 1, "number": 1, "due_date": line.due_date,
                    "opening_balance": PRINCIPAL, "closing_balance": 0, "principal": PRINCIPAL,
                    "interest": line.interest, "fees": 0, "penalty": 0, "paid_principal": 0,
                    "paid_interest": 0, "paid_fees": 0, "paid_penalty": 0, "recognised": False,
                    "superseded": False,
                    "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC),
                }
            )  # fmt: skip
        async with sessions.unit_of_work(tenant_id) as session:
            await session.execute(insert(Loan), loans)
            await session.execute(insert(ScheduleLine), lines)
            if features:
                await session.execute(insert(cast(Table, FeatureRow.__table__)), features)
    if n > len(population):
        async with sessions.unit_of_work() as session:
            dialect = (await session.connection()).dialect.name
            await session.execute(text(_COPY_FEATURES[dialect]), {"profiles": len(population)})


# The other enterprises' features: a copy of their profile's rows (enterprise i has profile
# i mod PROFILES) under their own USCC, id and record keys, made by the database in one statement
# (1.7 million rows through the driver would make set-up the longest part of the bench).
_PROFILE_OF = "CAST(substr(l.enterprise_uscc, 11) AS INTEGER)"
_COPY_FEATURES: dict[str, str] = {
    dialect: f"""
    INSERT INTO scenario_features (id, uscc, data_source, name, version, value_kind, value_text,
        as_of, computed_at, reason, data_as_of, source_records, created_at, updated_at)
    SELECT {new_id}, l.enterprise_uscc, t.data_source, t.name, t.version, t.value_kind,
        t.value_text, t.as_of, t.computed_at, t.reason, t.data_as_of, {records}, t.created_at,
        t.updated_at
    FROM loans AS l JOIN scenario_features AS t ON t.uscc = '9133010600' || {profile}
    WHERE {_PROFILE_OF} >= :profiles
    """  # noqa: S608 - constant fragments, the one value is bound
    for dialect, new_id, profile, records in (
        (
            "sqlite",
            # The Uuid type's form on SQLite (32 hex digits), ascending: appended to the primary
            # key's index, where random ids would cost SQLite a page read per row at this size.
            f"printf('%016x%016x', {_PROFILE_OF}, t.rowid)",
            f"printf('%08d', {_PROFILE_OF} % :profiles)",
            "replace(t.source_records, t.uscc, l.enterprise_uscc)",
        ),
        (
            "postgresql",
            "gen_random_uuid()",
            f"lpad(CAST({_PROFILE_OF} % :profiles AS TEXT), 8, '0')",
            "CAST(replace(CAST(t.source_records AS TEXT), t.uscc, l.enterprise_uscc) AS JSONB)",
        ),
    )
}


async def bench(
    database_url: str, n: int, scorer: ScorecardScorer, product: Product
) -> dict[str, Any]:
    settings = load_settings({}, database_url=database_url, environment="test")
    engine = create_engine(settings)
    sessions = SessionFactory(engine)
    try:
        started = time.perf_counter()
        await populate(sessions, n, product.code)
        # A live database has planner statistics and a visibility map (autovacuum's work); a
        # table bulk-loaded a moment ago has neither, and PostgreSQL then hash-joins every
        # schedule line per batch and reads every feature row from the heap instead of the
        # covering index. SQLite needs none: the batch query keeps it on the primary key
        # (renewal._Unindexed) and its index-only reads need no visibility map.
        if not settings.is_sqlite:
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("VACUUM ANALYZE")
        setup_s = time.perf_counter() - started
        policy = RenewalPolicy(
            ruleset=default_ruleset(),
            scorer=scorer,
            limit_policy=SANDBOX_LIMIT_POLICY,
            product_for=_fixed(product),
        )
        inputs = ScenarioRenewalInputs(scenario_features)  # as jobs.py builds it
        started = time.perf_counter()
        cpu_started = (
            time.process_time()
        )  # this process's CPU: load on the machine can't inflate it
        run = await run_renewals(
            sessions, inputs, policy, as_of=AS_OF, days_before=30, run_key="bench", batch=1_000
        )
        elapsed = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        started = time.perf_counter()
        again = await run_renewals(
            sessions, inputs, policy, as_of=AS_OF, days_before=30, run_key="bench", batch=1_000
        )
        repeat_s = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "database": database_url.split(":", 1)[0],
        "loans": n,
        "assessed": run.considered,
        "offers": run.offers,
        "setup_s": round(setup_s, 2),
        "seconds": round(elapsed, 2),
        "loans_per_s": round(run.considered / elapsed, 1),
        # CPU of this process per loan (the job, its driver, SQLite's engine; not a PG server's)
        "cpu_ms_per_loan": round(1000 * cpu_s / max(run.considered, 1), 4),
        "loans_per_cpu_s": round(run.considered / cpu_s, 1),
        "repeat_run_s": round(repeat_s, 3),
        "repeat_new_offers": sum(again.offers.values()),
        "meets_target": run.considered / elapsed >= TARGET,
    }


def _fixed(product: Product) -> Any:
    async def product_for(_session: AsyncSession, _loan: RenewalCandidate) -> Product:
        return product

    return product_for


async def _fresh_pg(url: str) -> str:
    import asyncpg

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(plain)
    try:
        await conn.execute('DROP DATABASE IF EXISTS "puhui_bench_renewal" WITH (FORCE)')
        await conn.execute('CREATE DATABASE "puhui_bench_renewal"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/puhui_bench_renewal"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 loans instead of 100,000")
    parser.add_argument("--pg", default=os.environ.get("PUHUI_BENCH_PG_URL"), help="PostgreSQL URL")
    args = parser.parse_args()
    n = 5_000 if args.quick else 100_000
    load_all_models()
    model_dir = Path(tempfile.mkdtemp(prefix="puhui-bench-model-"))
    scorer = ScorecardScorer(ScorecardModel.load(train_sandbox_model(model_dir, n=4_000).model))
    product = to_decision_product(sandbox_products(("bench",))[0], TERM)
    urls = [f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='puhui-bench-')}/renewal.db"]
    if args.pg:
        urls.append(asyncio.run(_fresh_pg(args.pg)))
    results = []
    for url in urls:
        upgrade(load_settings({}, database_url=url, environment="test"))  # runs its own loop
        results.append(asyncio.run(bench(url, n, scorer, product)))
    print(
        f"{'database':<22}{'loans':>9}{'seconds':>10}{'loans/s':>10}{'cpu ms/loan':>13}"
        f"{'rerun s':>9}  target"
    )
    for r in results:
        verdict = "met" if r["meets_target"] else "MISSED"
        print(
            f"{r['database']:<22}{r['assessed']:>9}{r['seconds']:>10}{r['loans_per_s']:>10}"
            f"{r['cpu_ms_per_loan']:>13}{r['repeat_run_s']:>9}  {verdict} (>= {TARGET:,.0f})"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "renewal",
                "mode": "quick" if args.quick else "full",
                "target_loans_per_s": TARGET,
                "python": host.python_version(),
                "machine": host.machine(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
