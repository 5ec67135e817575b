"""Payroll features: headcount change, payroll total, social-insurance coverage."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from connectors.canonical import EnterpriseDataset
from connectors.features import Feature, FeatureSpec
from connectors.payroll.schemas import PayrollMonth, SocialInsuranceMonth
from connectors.series import PLACES, trailing_months

__all__ = ["PAYROLL_FEATURES"]

PAYROLL = "payroll.payroll_months"
SOCIAL = "payroll.social_insurance"


def _headcounts(data: EnterpriseDataset) -> dict[str, int]:
    return {r.period: r.headcount for r in data.of(PAYROLL, PayrollMonth)}


def headcount_change(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    """(headcount now − headcount 12 months earlier) / headcount 12 months earlier."""
    window = trailing_months(as_of, 13)
    heads = _headcounts(data)
    then, now = heads.get(window[0]), heads.get(window[-1])
    if not then or now is None:
        return None
    return (Decimal(now - then) / then).quantize(PLACES, rounding=ROUND_HALF_EVEN)


def latest_headcount(data: EnterpriseDataset, as_of: date) -> int | None:
    heads = {p: h for p, h in _headcounts(data).items() if p <= trailing_months(as_of, 1)[0]}
    return heads[max(heads)] if heads else None


def payroll_total(data: EnterpriseDataset, as_of: date) -> int | None:
    window = set(trailing_months(as_of, 12))
    months = [r.gross_pay_fen for r in data.of(PAYROLL, PayrollMonth) if r.period in window]
    return sum(months) if len(months) >= 6 else None


def insured_ratio(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    """Insured staff over paid staff in the latest month both report; low values warrant review."""
    heads = _headcounts(data)
    insured = {r.period: r.insured_headcount for r in data.of(SOCIAL, SocialInsuranceMonth)}
    common = [p for p in heads if p in insured and p <= trailing_months(as_of, 1)[0] and heads[p]]
    if not common:
        return None
    latest = max(common)
    return (Decimal(insured[latest]) / heads[latest]).quantize(PLACES, rounding=ROUND_HALF_EVEN)


PAYROLL_FEATURES: tuple[Feature, ...] = (
    Feature(
        FeatureSpec(
            name="payroll.headcount_change_12m",
            version=1,
            description="Relative change of paid headcount between the as-of month and the "
            "same month a year earlier; None without both months.",
            unit="ratio",
            source_streams=(PAYROLL,),
        ),
        headcount_change,
    ),
    Feature(
        FeatureSpec(
            name="payroll.headcount",
            version=1,
            description="Paid headcount in the latest payroll month up to the as-of date.",
            unit="people",
            source_streams=(PAYROLL,),
        ),
        latest_headcount,
    ),
    Feature(
        FeatureSpec(
            name="payroll.gross_pay_12m_fen",
            version=1,
            description="Gross pay summed over the last 12 months; needs 6 payroll months.",
            unit="fen",
            source_streams=(PAYROLL,),
        ),
        payroll_total,
    ),
    Feature(
        FeatureSpec(
            name="payroll.insured_ratio",
            version=1,
            description="Staff with social insurance over staff paid, latest common month.",
            unit="ratio",
            source_streams=(PAYROLL, SOCIAL),
        ),
        insured_ratio,
    ),
)
