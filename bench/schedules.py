"""Benchmark the loan mathematics: schedules built and APRs solved per second on one core.

Target: at least 20,000 twelve-month equal-instalment schedules a second. Run
`.venv/bin/python bench/schedules.py [--quick]`; results go to bench/results/schedules.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from puhui.lending.apr import CashFlow, annual_percentage_rate, borrower_cash_flows
from puhui.lending.daycount import DayCount
from puhui.lending.schedules import (
    LoanTerms,
    PrepaymentOption,
    RepaymentMethod,
    Schedule,
    build_schedule,
    prepay,
)
from puhui.money import Rate

T = TypeVar("T")
TARGET_SCHEDULES_PER_SECOND = 20_000
RESULTS = Path(__file__).resolve().parent / "results" / "schedules.json"


@dataclass(frozen=True)
class Measurement:
    name: str
    operations: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds


def _portfolio(count: int, term_months: int, method: RepaymentMethod, seed: int) -> list[LoanTerms]:
    """A varied book: 50 product rates, random principals, start dates and repayment days."""
    rng = random.Random(seed)
    rates = [Rate(Decimal(rng.randrange(30_000, 240_000)) / 1_000_000) for _ in range(50)]
    return [
        LoanTerms(
            principal=rng.randrange(1_000_000, 500_000_000),
            rate=rng.choice(rates),
            term_months=term_months,
            start_date=date(2024, 1, 1) + timedelta(days=rng.randrange(730)),
            repayment_day=rng.choice([None, 5, 15, 20, 28, 31]),
            day_count=rng.choice(list(DayCount)),
            method=method,
        )
        for _ in range(count)
    ]


def _time(name: str, items: Sequence[T], action: Callable[[T], object]) -> Measurement:
    best = float("inf")
    for _ in range(3):  # best of three rounds smooths out scheduler noise
        started = time.perf_counter()
        for item in items:
            action(item)
        best = min(best, time.perf_counter() - started)
    return Measurement(name, len(items), best)


def run(quick: bool) -> list[Measurement]:
    size = 5_000 if quick else 50_000
    results: list[Measurement] = []
    for method in RepaymentMethod:
        book = _portfolio(size, 12, method, seed=1)
        results.append(_time(f"schedule 12m {method}", book, _build))
    long_book = _portfolio(size // 10, 360, RepaymentMethod.EQUAL_INSTALMENT, seed=2)
    results.append(_time("schedule 360m equal_instalment", long_book, _build))

    schedules = [
        build_schedule(t) for t in _portfolio(size // 5, 12, RepaymentMethod.EQUAL_INSTALMENT, 3)
    ]
    flows = [borrower_cash_flows(s, upfront_fee=s.principal // 100) for s in schedules]
    results.append(_time("APR solve 12m (1% fee)", flows, _solve))
    prepayments = [(s, s.instalments[4].due_date + timedelta(days=9)) for s in schedules]
    results.append(_time("prepayment recalculation 12m", prepayments, _prepay))
    return results


def _build(terms: LoanTerms) -> object:
    return build_schedule(terms)


def _solve(flows: tuple[CashFlow, ...]) -> object:
    return annual_percentage_rate(flows)


def _prepay(case: tuple[Schedule, date]) -> object:
    schedule, on = case
    return prepay(schedule, on, schedule.principal // 4, PrepaymentOption.REDUCE_INSTALMENT)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a smaller book, for CI and smoke runs"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    measurements = run(args.quick)
    headline = measurements[0].per_second
    print(f"{'benchmark':<40} {'ops':>8} {'seconds':>9} {'ops/s':>12}")
    for m in measurements:
        print(f"{m.name:<40} {m.operations:>8} {m.seconds:>9.3f} {m.per_second:>12,.0f}")
    passed = headline >= TARGET_SCHEDULES_PER_SECOND
    verdict = "meets" if passed else "MISSES"
    target = TARGET_SCHEDULES_PER_SECOND
    print(f"\n12m equal-instalment: {headline:,.0f}/s {verdict} the target of {target:,}/s")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "schedules",
        "quick": args.quick,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "target_schedules_per_second": TARGET_SCHEDULES_PER_SECOND,
        "meets_target": passed,
        "results": [
            {
                "name": m.name,
                "operations": m.operations,
                "seconds": round(m.seconds, 4),
                "per_second": round(m.per_second, 1),
            }
            for m in measurements
        ],
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
