"""Utility upstream rows → canonical records: kWh/MWh/度 to kWh, m³/吨/L to m³, 元/万元 to fen."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.cleaning import (
    RowRejected,
    parse_amount_fen,
    parse_date,
    parse_electricity_kwh,
    parse_optional_date,
    parse_period,
    parse_water_m3,
    require_text,
    require_uscc,
)
from connectors.utilities.schemas import ElectricityUsage, UtilityBill, WaterUsage

__all__ = [
    "BILL_FIELDS",
    "USAGE_FIELDS",
    "normalise_bill",
    "normalise_electricity",
    "normalise_water",
]

USAGE_FIELDS = (
    "reading_no",
    "account_uscc",
    "meter_no",
    "billing_month",
    "usage",
    "unit",
    "read_date",
)
BILL_FIELDS = (
    "bill_no",
    "account_uscc",
    "utility",
    "billing_month",
    "amount_due",
    "due_date",
    "amount_paid",
    "paid_date",
)
_UTILITIES = {"electricity": "electricity", "电": "electricity", "water": "water", "水": "water"}


def normalise_electricity(row: Mapping[str, object]) -> ElectricityUsage:
    return ElectricityUsage(
        reading_id=require_text(row, "reading_no"),
        uscc=require_uscc(row, "account_uscc"),
        meter_id=require_text(row, "meter_no"),
        period=parse_period(row, "billing_month"),
        kwh=parse_electricity_kwh(row, "usage", "unit"),
        read_on=parse_date(row, "read_date"),
    )


def normalise_water(row: Mapping[str, object]) -> WaterUsage:
    return WaterUsage(
        reading_id=require_text(row, "reading_no"),
        uscc=require_uscc(row, "account_uscc"),
        meter_id=require_text(row, "meter_no"),
        period=parse_period(row, "billing_month"),
        m3=parse_water_m3(row, "usage", "unit"),
        read_on=parse_date(row, "read_date"),
    )


def normalise_bill(row: Mapping[str, object]) -> UtilityBill:
    utility = _UTILITIES.get(require_text(row, "utility").lower())
    if utility is None:
        raise RowRejected("unknown_utility", "utility")
    paid_on = parse_optional_date(row, "paid_date")
    raw_paid = row.get("amount_paid")
    paid = 0 if raw_paid in (None, "") else parse_amount_fen(row, "amount_paid")
    return UtilityBill(
        bill_id=require_text(row, "bill_no"),
        uscc=require_uscc(row, "account_uscc"),
        utility=utility,
        period=parse_period(row, "billing_month"),
        amount_fen=parse_amount_fen(row, "amount_due"),
        due_on=parse_date(row, "due_date"),
        paid_fen=paid,
        paid_on=paid_on,
    )
