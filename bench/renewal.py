"""Benchmark renewal pre-assessment: loans re-decided and offers written per second.

Target: at least 2,000 loans/s including writes, over 100,000 loans maturing in the window, on
SQLite and on PostgreSQL (``--pg URL``). The run is the real job (``run_renewals``: selection by
maturity, schedule lines, the full credit decision, offer rows and checkpoints); the borrowers'
current data come from synthetic scenario features held in memory, so feature-store reads are
not part of the figure. Run: .venv/bin/python bench/renewal.py [--quick] [--pg URL]
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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402 - after the path setup above
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from puhui.config import load_settings  # noqa: E402
from puhui.db.engine import create_engine  # noqa: E402
from puhui.db.migrate import upgrade  # noqa: E402
from puhui.db.models import load_all_models  # noqa: E402
from puhui.db.session import SessionFactory  # noqa: E402
from puhui.lending.products import to_decision_product  # noqa: E402
from puhui.lending.schedules import LoanTerms, RepaymentMethod, build_schedule  # noqa: E402
from puhui.lending.seed import sandbox_products  # noqa: E402
from puhui.money import Rate  # noqa: E402
from puhui.risk.decision import DecisionInputs, FeatureValue, Product  # noqa: E402
from puhui.risk.fraud import FraudContext, FraudSubject  # noqa: E402
from puhui.risk.limits import RepaymentCapacity  # noqa: E402
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ScorecardScorer  # noqa: E402
from puhui.risk.rules import AdmissionFacts  # noqa: E402
from puhui.risk.rulesets import default_ruleset  # noqa: E402
from puhui.risk.scorecard.model import ScorecardModel  # noqa: E402
from puhui.risk.synthetic import generate_sme_borrowers, train_sandbox_model  # noqa: E402
from puhui.servicing.models import Loan, LoanStatus, ScheduleLine  # noqa: E402
from puhui.servicing.renewal import (  # noqa: E402
    RenewalCandidate,
    RenewalPolicy,
    run_renewals,
)
from puhui.tenancy.models import Tenant, TenantKind, TenantStatus  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "renewal.json"
TARGET = 2_000.0
START = date(2027, 1, 10)
AS_OF = date(2027, 6, 20)
TERM = 6
PRINCIPAL = 50_000_000


class SyntheticInputs:
    """Current data per borrower from the synthetic SME population (the store's values, cached)."""

    def __init__(self, n: int) -> None:
        portfolio = generate_sme_borrowers(n, seed=99)
        names = [c for c in portfolio.columns if c != "defaulted"]
        self.rows: list[dict[str, FeatureValue]] = []
        for i in range(n):
            row: dict[str, FeatureValue] = {}
            for name in names:
                value = portfolio.columns[name][i]
                if value is None or (isinstance(value, float) and value != value):
                    row[name] = None
                else:
                    row[name] = value if isinstance(value, str) else float(value)
            self.rows.append(row)

    async def inputs_for(
        self, session: AsyncSession, loan: RenewalCandidate, at: datetime
    ) -> tuple[DecisionInputs, FraudContext]:
        index = int(loan.enterprise_uscc[-8:]) % len(self.rows)
        features = self.rows[index]
        grade = features.get("tax_credit_grade")
        inputs = DecisionInputs(
            application_id=f"renewal-{loan.id}",
            customer_id=loan.enterprise_uscc,
            product_code=loan.product_code,
            facts=AdmissionFacts(
                tax_credit_grade=grade if isinstance(grade, str) else None,
                credit_overdue_current_fen=0,
                worst_loan_classification=loan.loan_class,
            ),
            features=features,
            capacity=RepaymentCapacity(tax_revenue_12m_fen=800_000_000),
            requested_amount_fen=loan.principal,
        )
        fraud = FraudContext(
            subject=FraudSubject(
                application_id=inputs.application_id, at=at, uscc=loan.enterprise_uscc
            )
        )
        return inputs, fraud


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
    chunk = 5_000
    for first in range(0, n, chunk):
        loans: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for i in range(first, min(first + chunk, n)):
            loan_id = uuid.uuid4()
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


async def bench(
    database_url: str, n: int, scorer: ScorecardScorer, product: Product
) -> dict[str, Any]:
    settings = load_settings({}, database_url=database_url, environment="test")
    engine = create_engine(settings)
    sessions = SessionFactory(engine)
    try:
        started = time.perf_counter()
        await populate(sessions, n, product.code)
        # A live database has planner statistics (autovacuum's analyze); a table bulk-loaded a
        # moment ago has none, and PostgreSQL then hash-joins every schedule line per batch.
        # SQLite needs none: the batch query keeps it on the primary key (renewal._Unindexed).
        if not settings.is_sqlite:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
        setup_s = time.perf_counter() - started
        policy = RenewalPolicy(
            ruleset=default_ruleset(),
            scorer=scorer,
            limit_policy=SANDBOX_LIMIT_POLICY,
            product_for=_fixed(product),
        )
        inputs = SyntheticInputs(min(n, 20_000))
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
