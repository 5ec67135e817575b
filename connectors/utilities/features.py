"""Utility features: electricity and water consumption stability, bill arrears."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from connectors.canonical import EnterpriseDataset
from connectors.features import Feature, FeatureSpec
from connectors.series import coefficient_of_variation, trailing_months
from connectors.utilities.schemas import ElectricityUsage, UtilityBill, WaterUsage

__all__ = ["UTILITY_FEATURES"]

ELECTRICITY = "utilities.electricity_usage"
WATER = "utilities.water_usage"
BILLS = "utilities.bills"
MIN_MONTHS = 6


def _stability(monthly: dict[str, Decimal], as_of: date) -> Decimal | None:
    window = trailing_months(as_of, 12)
    values: Sequence[Decimal] = [monthly[p] for p in window if p in monthly]
    if len(values) < MIN_MONTHS:
        return None
    cv = coefficient_of_variation(values)
    return None if cv is None else max(Decimal(0), Decimal(1) - cv)


def electricity_stability(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    monthly: dict[str, Decimal] = {}
    for r in data.of(ELECTRICITY, ElectricityUsage):
        monthly[r.period] = monthly.get(r.period, Decimal(0)) + r.kwh
    return _stability(monthly, as_of)


def water_stability(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    monthly: dict[str, Decimal] = {}
    for r in data.of(WATER, WaterUsage):
        monthly[r.period] = monthly.get(r.period, Decimal(0)) + r.m3
    return _stability(monthly, as_of)


def arrears_count(data: EnterpriseDataset, as_of: date) -> int:
    return sum(1 for bill in data.of(BILLS, UtilityBill) if bill.overdue(as_of))


def arrears_amount(data: EnterpriseDataset, as_of: date) -> int:
    return sum(b.amount_fen - b.paid_fen for b in data.of(BILLS, UtilityBill) if b.overdue(as_of))


UTILITY_FEATURES: tuple[Feature, ...] = (
    Feature(
        FeatureSpec(
            name="utilities.electricity_stability_12m",
            version=1,
            description="1 − coefficient of variation of monthly kWh over the last 12 months "
            "(floored at 0); 1 is perfectly steady consumption. Needs 6 months.",
            unit="ratio",
            source_streams=(ELECTRICITY,),
        ),
        electricity_stability,
    ),
    Feature(
        FeatureSpec(
            name="utilities.water_stability_12m",
            version=1,
            description="1 − coefficient of variation of monthly m³ over the last 12 months.",
            unit="ratio",
            source_streams=(WATER,),
        ),
        water_stability,
    ),
    Feature(
        FeatureSpec(
            name="utilities.arrears_count",
            version=1,
            description="Bills past their due date and not fully paid at the as-of date.",
            unit="count",
            source_streams=(BILLS,),
        ),
        arrears_count,
    ),
    Feature(
        FeatureSpec(
            name="utilities.arrears_fen",
            version=1,
            description="Amount outstanding on overdue bills at the as-of date.",
            unit="fen",
            source_streams=(BILLS,),
        ),
        arrears_amount,
    ),
)
