"""A simulated government e-procurement platform: awards, contracts, orders, payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from litestar import Litestar

from connectors.personas import PERSONAS, Persona, PersonaProfile
from connectors.simdata import date_variant, last_day, money_variant, seeded, trading_history
from connectors.simulation import (
    FaultPlan,
    Row,
    SimulatorControl,
    UpstreamTable,
    build_simulator_app,
)
from connectors.spec import AuthKind

__all__ = ["SANDBOX_API_KEY", "create_simulator", "upstream_table"]

SANDBOX_API_KEY = "sandbox-procurement-key"
_PROJECTS = ("办公设备采购", "设施维保服务", "物资配送", "信息化运维", "劳保用品采购")


class _Award:
    __slots__ = ("amount_fen", "award_no", "awarded_on", "buyer", "contract_no", "index")

    def __init__(
        self, index: int, award_no: str, buyer: str, awarded_on: date, amount_fen: int
    ) -> None:
        self.index = index
        self.award_no = award_no
        self.buyer = buyer
        self.awarded_on = awarded_on
        self.amount_fen = amount_fen
        self.contract_no = award_no.replace("ZB", "HT")


def _awards(p: Persona, seed: int) -> list[_Award]:
    if not p.procurement_buyers:
        return []
    rng = seeded(seed, p.uscc, "awards")
    awards = []
    for i, month in enumerate(trading_history(p, seed)):
        if i % 3:
            continue
        share = Decimal(str(round(rng.uniform(0.8, 1.6), 3)))
        amount = int(
            (Decimal(month.revenue_fen) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        buyer = p.procurement_buyers[rng.randrange(len(p.procurement_buyers))]
        awarded = last_day(month.period) - timedelta(days=rng.randrange(3, 25))
        awards.append(
            _Award(i, f"ZB{p.uscc[-6:]}{month.period.replace('-', '')}", buyer, awarded, amount)
        )
    return awards


def _award_rows(p: Persona, seed: int) -> list[Row]:
    rows: list[Row] = []
    for a in _awards(p, seed):
        row: Row = {
            "_key": f"{a.awarded_on.isoformat()}|{a.award_no}",
            "award_no": a.award_no,
            "supplier_uscc": p.uscc,
            "purchaser": a.buyer,
            "project_name": f"{a.buyer}{_PROJECTS[a.index % len(_PROJECTS)]}项目",
            "award_date": date_variant(a.awarded_on, a.index),
            "award_amount": money_variant(a.amount_fen, a.index),
            "contract_no": a.contract_no,
            "contract_date": date_variant(a.awarded_on + timedelta(days=14), a.index + 1),
        }
        if a.index == 6 and p.profile is PersonaProfile.DECLINING:
            row["purchaser"] = None  # the platform lost the buyer's name
        rows.append(row)
    return rows


def _order_rows(p: Persona, seed: int) -> list[Row]:
    rows: list[Row] = []
    for a in _awards(p, seed):
        for n in range(2):
            po_no = f"PO{a.award_no[2:]}{n}"
            ordered = a.awarded_on + timedelta(days=20 + 30 * n)
            rows.append(
                {
                    "_key": f"{ordered.isoformat()}|{po_no}",
                    "po_no": po_no,
                    "supplier_uscc": p.uscc,
                    "contract_no": a.contract_no,
                    "purchaser": a.buyer,
                    "order_date": date_variant(ordered, n + a.index),
                    "order_amount": money_variant(a.amount_fen // 2, n),
                }
            )
    return rows


def _payment_rows(p: Persona, seed: int) -> list[Row]:
    rows: list[Row] = []
    for a in _awards(p, seed):
        for n, share in enumerate((Decimal("0.3"), Decimal("0.7"))):
            paid = a.awarded_on + timedelta(days=45 + 60 * n)
            payment_no = f"FK{a.award_no[2:]}{n}"
            fen = int(Decimal(a.amount_fen) * share)
            row: Row = {
                "_key": f"{paid.isoformat()}|{payment_no}",
                "payment_no": payment_no,
                "supplier_uscc": p.uscc,
                "payer_name": a.buyer,
                "pay_date": date_variant(paid, a.index + n),
                "pay_amount": money_variant(fen, a.index + n),
            }
            rows.append(row)
            if a.index == 3 and n == 0:  # the same payment reported again in 万元
                rows.append(row | {"pay_amount": money_variant(fen, 2)})
    return rows


def upstream_table(seed: int = 7, personas: Sequence[Persona] = PERSONAS) -> UpstreamTable:
    """What the e-procurement platform holds about the personas, as its API returns it."""
    return {
        "awards": {p.uscc: _award_rows(p, seed) for p in personas},
        "purchase-orders": {p.uscc: _order_rows(p, seed) for p in personas},
        "payments-received": {p.uscc: _payment_rows(p, seed) for p in personas},
    }


def create_simulator(
    seed: int = 7, *, api_key: str = SANDBOX_API_KEY, faults: FaultPlan | None = None
) -> Litestar:
    """The e-procurement platform simulator app (API-key auth)."""
    return build_simulator_app(
        title="e-procurement simulator",
        table=upstream_table(seed),
        auth_kind=AuthKind.API_KEY,
        credential=api_key,
        control=SimulatorControl(faults),
    )
