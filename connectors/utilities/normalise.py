"""Utility upstream rows → canonical records: kWh/MWh/度 to kWh, m³/吨/L to m³, 元/万元 to fen."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.kit import Read, day, fen, kwh, m3, mapped, one_of, optional_day, period, text, uscc
from connectors.utilities.schemas import ElectricityUsage, UtilityBill, WaterUsage

__all__ = ["normalise_bill", "normalise_electricity", "normalise_water"]

_UTILITIES = {"electricity": "electricity", "电": "electricity", "water": "water", "水": "water"}


def _paid_fen(field: str) -> Read:
    """Nothing paid yet is a blank, not a missing value."""
    amount = fen(field)

    def read(row: Mapping[str, object]) -> int:
        return 0 if row.get(field) in (None, "") else int(amount.fn(row))

    return Read(read, (field,))


normalise_electricity = mapped(
    ElectricityUsage,
    reading_id=text("reading_no"),
    uscc=uscc("account_uscc"),
    meter_id=text("meter_no"),
    period=period("billing_month"),
    kwh=kwh("usage", "unit"),
    read_on=day("read_date"),
)

normalise_water = mapped(
    WaterUsage,
    reading_id=text("reading_no"),
    uscc=uscc("account_uscc"),
    meter_id=text("meter_no"),
    period=period("billing_month"),
    m3=m3("usage", "unit"),
    read_on=day("read_date"),
)

normalise_bill = mapped(
    UtilityBill,
    bill_id=text("bill_no"),
    uscc=uscc("account_uscc"),
    utility=one_of("utility", _UTILITIES, "unknown_utility"),
    period=period("billing_month"),
    amount_fen=fen("amount_due"),
    due_on=day("due_date"),
    paid_fen=_paid_fen("amount_paid"),
    paid_on=optional_day("paid_date"),
)
