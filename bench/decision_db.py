"""Benchmark a persisted credit decision from stored features, as `submit` makes it.

Per decision: read the enterprise's features from the scenario store, gather the fraud context
(recent applications, blacklist), decide with the stored rule set and the registered sandbox
scorecard, and write the DecisionRecord; one unit of work (commit) per decision, SQLite file.
Also reported: the CPU cost (``time.process_time``, all threads of the process, so SQLite's
worker thread counts) of each persisted decision, and of the decision alone — rules + fraud +
score + limit + record, re-run from each stored snapshot with the stored rule set and the
registered sandbox scorecard — which is what the 5 ms / 1,000 per second targets budget.
Run: .venv/bin/python bench/decision_db.py [--quick]  → table on stdout, JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))

from puhui.clock import utcnow  # noqa: E402 - after the path setup above
from puhui.config import Settings, load_settings  # noqa: E402
from puhui.db.engine import create_engine  # noqa: E402
from puhui.db.migrate import upgrade  # noqa: E402
from puhui.db.session import SessionFactory  # noqa: E402
from puhui.lending.models import Application, ApplicationStatus  # noqa: E402
from puhui.lending.products import to_decision_product  # noqa: E402
from puhui.lending.seed import (  # noqa: E402
    ensure_baseline_ruleset,
    ensure_model,
    ensure_products,
    sandbox_products,
)
from puhui.lending.service import scenario_features  # noqa: E402
from puhui.risk.decision import DecisionRecord, rerun  # noqa: E402
from puhui.risk.registry import ModelRegistry, RuleSetRegistry  # noqa: E402
from puhui.risk.service import DecisionService, IdentityEvidence  # noqa: E402
from puhui.scenario.models import FeatureRow  # noqa: E402
from puhui.security.keyring import data_keyring, install_keyring  # noqa: E402
from puhui.tenancy.models import Tenant, TenantKind, TenantStatus  # noqa: E402

FEATURES: dict[str, int | Decimal | str] = {
    "tax.revenue_trend_12m": Decimal("0.08"),
    "tax.revenue_volatility_12m": Decimal("0.22"),
    "tax.declared_revenue_12m_fen": 8_000_000_00,
    "tax.credit_grade": "B",
    "tax.arrears_outstanding_fen": 0,
    "payroll.headcount_change_12m": Decimal("0.03"),
    "payroll.gross_pay_12m_fen": 900_000_00,
    "utilities.arrears_count": 1,
    "utilities.electricity_stability_12m": Decimal("0.81"),
    "procurement.award_value_12m_fen": 50_000_000,
    "procurement.payer_concentration_12m": Decimal("0.42"),
}


async def prepare(db: SessionFactory, n: int, model_dir: Path) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with db.unit_of_work() as session:
        tenant = Tenant(
            code="bench-partner",
            name="Bench partner",
            kind=TenantKind.CHANNEL_APP,
            status=TenantStatus.ACTIVE,
            plan="sandbox",
            is_sandbox=True,
        )
        session.add(tenant)
        await session.flush()
        await ensure_products(session, sandbox_products(("bench-partner",)))
        await ensure_baseline_ruleset(session)
        await ensure_model(session, model_dir, rows=4_000)
    ids: list[uuid.UUID] = []
    async with db.unit_of_work(tenant.id) as session:
        for i in range(n):
            uscc = f"91{i:06d}BENCH{i % 100000:05d}"[:18]
            for name, value in FEATURES.items():
                kind = (
                    "code"
                    if isinstance(value, str)
                    else "int"
                    if isinstance(value, int)
                    else "decimal"
                )
                session.add(
                    FeatureRow(
                        uscc=uscc,
                        data_source=name.split(".", 1)[0],
                        name=name,
                        version=1,
                        value_kind=kind,
                        value_text=str(value),
                        as_of=utcnow().date(),
                        computed_at=utcnow(),
                        reason=None,
                        data_as_of=utcnow() - timedelta(days=3),
                        source_records=[],
                    )
                )
            application = Application(
                tenant_id=tenant.id,
                uscc=uscc,
                enterprise_name=f"Bench {i}",
                legal_rep_name="王五",
                purpose="working_capital",
                amount_fen=300_000_00,
                term_months=12,
                repayment_method="equal_instalment",
                product_code="TAX-LOAN",
                product_version=1,
                contact_name="王五",
                device_id=f"device-{i % 50:04d}",
                status=ApplicationStatus.UNDER_DECISION,
                missing_sources=[],
                expires_at=utcnow() + timedelta(days=30),
            )
            application.contact_phone = f"139{i:08d}"
            session.add(application)
            await session.flush()
            ids.append(application.id)
    return tenant.id, ids


async def run(settings: Settings, directory: Path, n: int) -> dict[str, float]:
    install_keyring(data_keyring(settings))
    engine = create_engine(settings)
    db = SessionFactory(engine)
    tenant_id, ids = await prepare(db, n, directory / "model")
    spec = sandbox_products(("bench-partner",))[0]
    product = to_decision_product(spec, 12)
    timings: list[float] = []
    cpu_ms: list[float] = []
    records: list[DecisionRecord] = []
    started = time.perf_counter()
    for application_id in ids:
        t0, c0 = time.perf_counter(), time.process_time()
        async with db.unit_of_work(tenant_id) as session:
            application = await session.get(Application, application_id)
            assert application is not None
            features = await scenario_features(session, application.uscc)
            assert features is not None
            decision = await DecisionService(session).decide(
                application, product, features, IdentityEvidence(), spec.mitigations
            )
        cpu_ms.append((time.process_time() - c0) * 1000)
        timings.append((time.perf_counter() - t0) * 1000)
        records.append(DecisionRecord.from_json(decision.record.encode("utf-8")))
    elapsed = time.perf_counter() - started
    async with db.unit_of_work() as session:
        first = records[0]
        ruleset = await RuleSetRegistry(session).exact(first.ruleset_id, first.ruleset_version)
        scorer = await ModelRegistry(session).exact(first.model_id, first.model_version)
    await engine.dispose()
    decide_cpu_ms: list[float] = []
    for record in records:
        c0 = time.process_time()
        again = rerun(record.snapshot, ruleset, scorer)
        decide_cpu_ms.append((time.process_time() - c0) * 1000)
        assert again.record_hash == record.record_hash
    timings.sort()
    cpu_ms.sort()
    decide_cpu_ms.sort()
    return {
        "decisions": float(n),
        "p50_ms": statistics.median(timings),
        "p99_ms": _p99(timings),
        "decisions_per_s": n / elapsed,
        "cpu_p50_ms": statistics.median(cpu_ms),
        "cpu_p99_ms": _p99(cpu_ms),
        "cpu_decisions_per_s": 1000 / statistics.fmean(cpu_ms),
        "decide_cpu_p50_ms": statistics.median(decide_cpu_ms),
        "decide_cpu_p99_ms": _p99(decide_cpu_ms),
        "decide_cpu_per_s": 1000 / statistics.fmean(decide_cpu_ms),
    }


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 decisions instead of 2,000")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decision_db.json")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="puhui-bench-decision-db-"))
    settings = load_settings(
        {}, database_url=f"sqlite+aiosqlite:///{directory / 'bench.db'}", key_dir=directory / "keys"
    )
    upgrade(settings)  # Alembic runs its own event loop: before ours
    result = asyncio.run(run(settings, directory, 200 if args.quick else 2_000))
    print(f"{'metric':<22}{'value':>12}")
    for name, value in result.items():
        print(f"{name:<22}{value:>12.2f}")
    print(f"{'load avg 1m':<22}{os.getloadavg()[0]:>12.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result | {"quick": args.quick}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
