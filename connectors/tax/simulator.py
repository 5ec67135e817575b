"""A simulated electronic tax bureau: returns, credit grades, arrears and registrations.

Serves the personas over real HTTP with bearer auth and the untidiness of real filings:
mixed date and period formats, 元 and 万元 amounts, a duplicated return, a missing value.
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

__all__ = ["SANDBOX_TOKEN", "create_simulator", "upstream_table"]

SANDBOX_TOKEN = "sandbox-tax-token"  # noqa: S105 - the public sandbox credential
_MARGIN = {
    PersonaProfile.HEALTHY: Decimal("0.08"),
    PersonaProfile.DECLINING: Decimal("0.01"),
    PersonaProfile.ARREARS: Decimal("-0.02"),
    PersonaProfile.THIN_FILE: Decimal("0.05"),
    PersonaProfile.SUSPICIOUS: Decimal("0.02"),
}
_EARLIER_GRADE = {"A": "A", "B": "A", "C": "B", "M": None, "D": "C"}


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _vat_rows(p: Persona, seed: int) -> list[Row]:
    rng = seeded(seed, p.uscc, "vat")
    rows: list[Row] = []
    for i, month in enumerate(trading_history(p, seed)):
        filing_no = f"VAT{p.uscc[-6:]}{month.period.replace('-', '')}"
        variant = rng.randrange(12)
        filed = last_day(month.period) + timedelta(days=15)
        row: Row = {
            "_key": f"{month.period}|{filing_no}",
            "filing_no": filing_no,
            "taxpayer_id": p.uscc if variant % 5 else p.uscc.lower(),
            "period": period_variant(month.period, variant),
            "sales_amount": money_variant(month.revenue_fen, variant),
            "vat_payable": money_variant(
                _fen(Decimal(month.revenue_fen) * Decimal("0.03")), variant + 1
            ),
            "filed_date": date_variant(filed, variant),
        }
        rows.append(row)
        if i == 5:  # the bureau re-sends a return in another format: a duplicate after cleaning
            rows.append(
                row
                | {
                    "period": period_variant(month.period, variant + 1),
                    "sales_amount": money_variant(month.revenue_fen, variant + 1),
                    "filed_date": date_variant(filed, variant + 1),
                }
            )
        if i == 8 and p.profile is PersonaProfile.ARREARS:
            row["sales_amount"] = None  # a return lost its revenue figure
    return rows


def _income_tax_rows(p: Persona, seed: int) -> list[Row]:
    history = trading_history(p, seed)
    quarters: dict[tuple[int, int], int] = {}
    for month in history:
        year, m = int(month.period[:4]), int(month.period[5:])
        quarters[(year, (m - 1) // 3 + 1)] = (
            quarters.get((year, (m - 1) // 3 + 1), 0) + month.revenue_fen
        )
    rows: list[Row] = []
    for i, ((year, quarter), revenue) in enumerate(sorted(quarters.items())):
        income = _fen(Decimal(revenue) * _MARGIN[p.profile])
        filed = date(year + quarter // 4, quarter * 3 % 12 + 1, 15)
        filing_no = f"CIT{p.uscc[-6:]}{year}Q{quarter}"
        rows.append(
            {
                "_key": f"{year}Q{quarter}|{filing_no}",
                "filing_no": filing_no,
                "taxpayer_id": p.uscc,
                "tax_year": year,
                "quarter": str(quarter) if i % 2 else quarter,
                "taxable_income": money_variant(income, i)
                if income >= 0
                else Decimal(income) / 100,
                "tax_payable": money_variant(max(0, _fen(Decimal(income) * Decimal("0.05"))), i),
                "filed_date": date_variant(filed, i),
            }
        )
    return rows


def _grade_rows(p: Persona) -> list[Row]:
    rows: list[Row] = [
        {
            "_key": "2024",
            "taxpayer_id": p.uscc,
            "year": 2024,
            "grade": p.tax_grade.lower(),
            "published_date": "2025年4月20日",
        }
    ]
    earlier = _EARLIER_GRADE[p.tax_grade] if p.months_of_history > 12 else None
    if earlier is not None:
        rows.append(
            {
                "_key": "2023",
                "taxpayer_id": p.uscc,
                "year": "2023",
                "grade": earlier,
                "published_date": "2024-04-20",
            }
        )
    return rows


def _arrears_rows(p: Persona) -> list[Row]:
    spells: list[tuple[str, int, int, date, date | None]] = []
    if p.tax_arrears:
        spells = [
            ("增值税", 18_500_000, 420_000, date(2024, 8, 16), date(2024, 11, 2)),
            ("增值税", 26_300_000, 980_000, date(2025, 3, 16), None),
            ("企业所得税", 7_800_000, 150_000, date(2025, 5, 31), None),
        ]
    elif p.profile is PersonaProfile.DECLINING:
        spells = [("增值税", 3_200_000, 48_000, date(2025, 1, 16), date(2025, 2, 10))]
    rows: list[Row] = []
    for i, (tax_type, principal, penalty, incurred, settled) in enumerate(spells):
        arrears_no = f"QS{p.uscc[-6:]}{i:03d}"
        rows.append(
            {
                "_key": f"{incurred.isoformat()}|{arrears_no}",
                "arrears_no": arrears_no,
                "taxpayer_id": p.uscc,
                "tax_type": tax_type,
                "principal": money_variant(principal, i),
                "penalty": money_variant(penalty, i + 1),
                "incurred_date": date_variant(incurred, i),
                "settled_date": "" if settled is None else date_variant(settled, i + 1),
            }
        )
    return rows


def _registration_rows(p: Persona) -> list[Row]:
    """One registration per taxpayer, spelled as the bureau's system keeps it: half-width
    parentheses and stray spaces where the business licence has full-width ones."""
    registered = date(2025, 6, 30) - timedelta(days=31 * p.months_of_history)
    return [
        {
            "_key": p.uscc,
            "taxpayer_id": p.uscc,
            "taxpayer_name": p.name.replace("（", "(").replace("）", ")") + " ",
            "legal_rep": f" {p.legal_representative}",
            "registered_date": date_variant(registered, len(p.name)),
            "authority": f"国家税务总局（行政区划 {p.uscc[2:8]}）主管税务机关",
        }
    ]


def upstream_table(seed: int = 7, personas: Sequence[Persona] = PERSONAS) -> UpstreamTable:
    """What the tax bureau holds about the personas, as its API would return it."""
    return {
        "vat-returns": {p.uscc: _vat_rows(p, seed) for p in personas},
        "income-tax-returns": {p.uscc: _income_tax_rows(p, seed) for p in personas},
        "credit-grades": {p.uscc: _grade_rows(p) for p in personas},
        "arrears": {p.uscc: _arrears_rows(p) for p in personas},
        "registration": {p.uscc: _registration_rows(p) for p in personas},
    }


def create_simulator(
    seed: int = 7, *, token: str = SANDBOX_TOKEN, faults: FaultPlan | None = None
) -> Litestar:
    """The tax bureau simulator app; serve it with :func:`connectors.simulators.serve_simulator`."""
    return build_simulator_app(
        title="tax bureau simulator",
        table=upstream_table(seed),
        auth_kind=AuthKind.BEARER,
        credential=token,
        control=SimulatorControl(faults),
    )
