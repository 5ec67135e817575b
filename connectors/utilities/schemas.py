"""Canonical records of the utilities connector: metered usage in kWh and m³, and bills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec

__all__ = ["ElectricityUsage", "UtilityBill", "WaterUsage"]


class ElectricityUsage(msgspec.Struct, frozen=True, kw_only=True):
    """A monthly electricity meter reading, in kWh."""

    reading_id: str
    uscc: str
    meter_id: str
    period: str  # YYYY-MM
    kwh: Decimal
    read_on: date


class WaterUsage(msgspec.Struct, frozen=True, kw_only=True):
    """A monthly water meter reading, in m³."""

    reading_id: str
    uscc: str
    meter_id: str
    period: str
    m3: Decimal
    read_on: date


class UtilityBill(msgspec.Struct, frozen=True, kw_only=True):
    """A monthly water or electricity bill and what has been paid against it."""

    bill_id: str
    uscc: str
    utility: str  # "electricity" | "water"
    period: str
    amount_fen: int
    due_on: date
    paid_fen: int
    paid_on: date | None

    def overdue(self, as_of: date) -> bool:
        """Unpaid (in part) after its due date: arrears."""
        return self.due_on < as_of and (
            self.paid_on is None or self.paid_on > as_of or self.paid_fen < self.amount_fen
        )
