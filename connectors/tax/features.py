"""Tax features: revenue trend and volatility, credit grade, arrears (docs/connectors.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.canonical import EnterpriseDataset
from connectors.features import Feature, FeatureSpec
from connectors.series import coefficient_of_variation, relative_trend, trailing_months
from connectors.tax.schemas import CreditGrade, TaxArrears, VatReturn

__all__ = ["TAX_FEATURES"]

VAT = "tax.vat_returns"
GRADES = "tax.credit_grades"
ARREARS = "tax.arrears"
MIN_MONTHS = 6


def _monthly_revenue(data: EnterpriseDataset, as_of: date) -> list[int] | None:
    window = trailing_months(as_of, 12)
    by_period = {
        r.period: r.declared_revenue_fen for r in data.of(VAT, VatReturn) if r.period in window
    }
    if len(by_period) < MIN_MONTHS:
        return None
    return [by_period[p] for p in window if p in by_period]


def revenue_trend(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    revenue = _monthly_revenue(data, as_of)
    return None if revenue is None else relative_trend(revenue)


def revenue_volatility(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    revenue = _monthly_revenue(data, as_of)
    return None if revenue is None else coefficient_of_variation(revenue)


def revenue_total(data: EnterpriseDataset, as_of: date) -> int | None:
    revenue = _monthly_revenue(data, as_of)
    return None if revenue is None else sum(revenue)


def credit_grade(data: EnterpriseDataset, as_of: date) -> str | None:
    grades = [g for g in data.of(GRADES, CreditGrade) if g.published_on <= as_of]
    return max(grades, key=lambda g: g.assessment_year).grade if grades else None


def arrears_outstanding(data: EnterpriseDataset, as_of: date) -> int:
    """Unsettled principal plus penalties at ``as_of``; zero when the record is clean."""
    return sum(
        a.principal_fen + a.penalty_fen
        for a in data.of(ARREARS, TaxArrears)
        if a.incurred_on <= as_of and (a.settled_on is None or a.settled_on > as_of)
    )


def arrears_count_24m(data: EnterpriseDataset, as_of: date) -> int:
    since = date(as_of.year - 2, as_of.month, 1)
    return sum(1 for a in data.of(ARREARS, TaxArrears) if since <= a.incurred_on <= as_of)


TAX_FEATURES: tuple[Feature, ...] = (
    Feature(
        FeatureSpec(
            name="tax.revenue_trend_12m",
            version=1,
            description="Least-squares slope of monthly declared VAT revenue over the last 12 "
            "months divided by its mean (monthly relative growth); needs 6 months.",
            unit="ratio per month",
            source_streams=(VAT,),
        ),
        revenue_trend,
    ),
    Feature(
        FeatureSpec(
            name="tax.revenue_volatility_12m",
            version=1,
            description="Coefficient of variation of monthly declared revenue, last 12 months.",
            unit="ratio",
            source_streams=(VAT,),
        ),
        revenue_volatility,
    ),
    Feature(
        FeatureSpec(
            name="tax.declared_revenue_12m_fen",
            version=1,
            description="Declared revenue summed over the months filed in the last 12.",
            unit="fen",
            source_streams=(VAT,),
        ),
        revenue_total,
    ),
    Feature(
        FeatureSpec(
            name="tax.credit_grade",
            version=1,
            description="Most recent published tax credit grade (A/B/M/C/D).",
            unit="grade",
            source_streams=(GRADES,),
        ),
        credit_grade,
    ),
    Feature(
        FeatureSpec(
            name="tax.arrears_outstanding_fen",
            version=1,
            description="Unsettled tax arrears principal plus penalties at the as-of date.",
            unit="fen",
            source_streams=(ARREARS,),
        ),
        arrears_outstanding,
    ),
    Feature(
        FeatureSpec(
            name="tax.arrears_count_24m",
            version=1,
            description="Number of arrears incurred in the last 24 months, settled or not.",
            unit="count",
            source_streams=(ARREARS,),
        ),
        arrears_count_24m,
    ),
)
