"""A simulated payroll SaaS: monthly payroll runs and social-insurance declarations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from litestar import Litestar

from connectors.personas import PERSONAS, Persona, PersonaProfile
from connectors.simdata import (
    date_variant,
    last_day,
    money_variant,
    period_variant,
    seeded,
    trading_history,
)
from connectors.simulation import (
    FaultPlan,
    Row,
    SimulatorControl,
    UpstreamTable,
    build_simulator_app,
)
from connectors.spec import AuthKind

__all__ = ["SANDBOX_API_KEY", "create_simulator", "upstream_table"]

SANDBOX_API_KEY = "sandbox-payroll-key"
EMPLOYER_RATE = Decimal("0.26")
EMPLOYEE_RATE = Decimal("0.105")


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _payroll_rows(p: Persona, seed: int) -> list[Row]:
    rng = seeded(seed, p.uscc, "payroll")
    rows: list[Row] = []
    for i, month in enumerate(trading_history(p, seed)):
        gross = month.headcount * rng.randrange(780_000, 980_000)
        batch_no = f"PR{p.uscc[-6:]}{month.period.replace('-', '')}"
        row: Row = {
            "_key": f"{month.period}|{batch_no}",
            "batch_no": batch_no,
            "employer_uscc": p.uscc,
            "pay_month": period_variant(month.period, i),
            "employees": month.headcount if i % 2 else str(month.headcount),
            "gross_total": money_variant(gross, i),
            "paid_at": date_variant(last_day(month.period) + timedelta(days=10), i),
        }
        rows.append(row)
        if i == 2:
            rows.append(
                row | {"gross_total": money_variant(gross, i + 2), "pay_month": month.period}
            )
        if i == 10 and p.profile is PersonaProfile.DECLINING:
            row["employees"] = None
    return rows


def _social_rows(p: Persona, seed: int) -> list[Row]:
    rows: list[Row] = []
    for i, month in enumerate(trading_history(p, seed)):
        insured = _fen(month.headcount * p.insured_share)
        base = Decimal(insured * 600_000)  # contribution base 6,000 元 a head
        record_no = f"SI{p.uscc[-6:]}{month.period.replace('-', '')}"
        rows.append(
            {
                "_key": f"{month.period}|{record_no}",
                "record_no": record_no,
                "employer_uscc": p.uscc,
                "contribution_month": period_variant(month.period, i + 1),
                "insured_count": insured,
                "employer_part": money_variant(_fen(base * EMPLOYER_RATE), i),
                "employee_part": money_variant(_fen(base * EMPLOYEE_RATE), i + 1),
            }
        )
    return rows


def upstream_table(seed: int = 7, personas: Sequence[Persona] = PERSONAS) -> UpstreamTable:
    """What the payroll provider holds about the personas, as its API returns it."""
    return {
        "payroll-months": {p.uscc: _payroll_rows(p, seed) for p in personas},
        "social-insurance": {p.uscc: _social_rows(p, seed) for p in personas},
    }


def create_simulator(
    seed: int = 7, *, api_key: str = SANDBOX_API_KEY, faults: FaultPlan | None = None
) -> Litestar:
    """The payroll provider simulator app (API-key auth)."""
    return build_simulator_app(
        title="payroll simulator",
        table=upstream_table(seed),
        auth_kind=AuthKind.API_KEY,
        credential=api_key,
        control=SimulatorControl(faults),
    )
