"""A simulated utility company: monthly water and electricity readings and bills.

Readings come in kWh, MWh or 度 and in m³, 吨 or litres; one reading is re-sent in
another unit (a duplicate after cleaning) and one loses its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
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

SANDBOX_API_KEY = "sandbox-utilities-key"
PRICE_PER_KWH_FEN = Decimal("85")
PRICE_PER_M3_FEN = Decimal("420")


def _q(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _usage(p: Persona, seed: int) -> list[tuple[str, Decimal, Decimal]]:
    """(period, kWh, m³) per month, driven by the persona's revenue and headcount."""
    rng = seeded(seed, p.uscc, "meters")
    usage = []
    for month in trading_history(p, seed):
        jitter = 1 + Decimal(str(round(rng.uniform(-0.03, 0.03), 4)))
        kwh = _q(Decimal(month.revenue_fen) / 1_000_000 * p.kwh_per_10k_revenue * jitter)
        m3 = _q(month.headcount * p.m3_per_head * jitter)
        usage.append((month.period, kwh, m3))
    return usage


def _reading(p: Persona, kind: str, i: int, period: str, quantity: object, unit: str) -> Row:
    reading_no = f"{kind[0].upper()}R{p.uscc[-6:]}{period.replace('-', '')}"
    return {
        "_key": f"{period}|{reading_no}",
        "reading_no": reading_no,
        "account_uscc": p.uscc,
        "meter_no": f"{kind[:2].upper()}-{p.uscc[-4:]}",
        "billing_month": period_variant(period, i),
        "usage": quantity,
        "unit": unit,
        "read_date": date_variant(last_day(period), i),
    }


def _electricity_rows(p: Persona, seed: int) -> list[Row]:
    rows = []
    for i, (period, kwh, _) in enumerate(_usage(p, seed)):
        in_mwh = i % 4 == 1
        row = _reading(
            p,
            "electricity",
            i,
            period,
            kwh / 1000 if in_mwh else kwh,
            "MWh" if in_mwh else ("度" if i % 4 == 2 else "kWh"),
        )
        rows.append(row)
        if i == 3:  # re-sent in MWh: the same reading after unit normalisation
            rows.append(row | {"usage": kwh / 1000, "unit": "MWh"})
        if i == 7 and p.profile is PersonaProfile.SUSPICIOUS:
            row["usage"] = None
    return rows


def _water_rows(p: Persona, seed: int) -> list[Row]:
    rows = []
    units = ("m3", "吨", "立方米", "L")
    for i, (period, _, m3) in enumerate(_usage(p, seed)):
        unit = units[i % 4]
        rows.append(_reading(p, "water", i, period, m3 * 1000 if unit == "L" else m3, unit))
    return rows


def _bill_rows(p: Persona, seed: int) -> list[Row]:
    usage = _usage(p, seed)
    unpaid = (
        {period for period, _, _ in usage[-(p.unpaid_utility_months + 1) : -1]}
        if p.unpaid_utility_months
        else set()
    )
    rows: list[Row] = []
    for i, (period, kwh, m3) in enumerate(usage):
        due = last_day(period) + timedelta(days=20)
        for utility, amount in (
            ("electricity", kwh * PRICE_PER_KWH_FEN),
            ("water", m3 * PRICE_PER_M3_FEN),
        ):
            fen = int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            paid = period not in unpaid and period != usage[-1][0]
            bill_no = f"B{utility[0].upper()}{p.uscc[-6:]}{period.replace('-', '')}"
            paid_on: date = due - timedelta(days=5 + i % 7)
            rows.append(
                {
                    "_key": f"{period}|{bill_no}",
                    "bill_no": bill_no,
                    "account_uscc": p.uscc,
                    "utility": utility if i % 3 else {"electricity": "电", "water": "水"}[utility],
                    "billing_month": period_variant(period, i),
                    "amount_due": money_variant(fen, i),
                    "due_date": date_variant(due, i),
                    "amount_paid": money_variant(fen, i + 1) if paid else None,
                    "paid_date": date_variant(paid_on, i + 1) if paid else "",
                }
            )
    return rows


def upstream_table(seed: int = 7, personas: Sequence[Persona] = PERSONAS) -> UpstreamTable:
    """What the utility company holds about the personas, as its API returns it."""
    return {
        "electricity-usage": {p.uscc: _electricity_rows(p, seed) for p in personas},
        "water-usage": {p.uscc: _water_rows(p, seed) for p in personas},
        "bills": {p.uscc: _bill_rows(p, seed) for p in personas},
    }


def create_simulator(
    seed: int = 7, *, api_key: str = SANDBOX_API_KEY, faults: FaultPlan | None = None
) -> Litestar:
    """The utility company simulator app (API-key auth)."""
    return build_simulator_app(
        title="utilities simulator",
        table=upstream_table(seed),
        auth_kind=AuthKind.API_KEY,
        credential=api_key,
        control=SimulatorControl(faults),
    )
