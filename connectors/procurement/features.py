"""Procurement features: award value and count, payer concentration."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.canonical import EnterpriseDataset
from connectors.features import Feature, FeatureSpec
from connectors.procurement.schemas import PaymentReceived, ProcurementAward
from connectors.series import herfindahl_index

__all__ = ["PROCUREMENT_FEATURES"]

AWARDS = "procurement.awards"
PAYMENTS = "procurement.payments_received"


def _year_before(as_of: date) -> date:
    return as_of.replace(year=as_of.year - 1, day=min(as_of.day, 28))


def award_value(data: EnterpriseDataset, as_of: date) -> int:
    since = _year_before(as_of)
    return sum(
        a.amount_fen for a in data.of(AWARDS, ProcurementAward) if since < a.awarded_on <= as_of
    )


def award_count(data: EnterpriseDataset, as_of: date) -> int:
    since = _year_before(as_of)
    return sum(1 for a in data.of(AWARDS, ProcurementAward) if since < a.awarded_on <= as_of)


def payer_concentration(data: EnterpriseDataset, as_of: date) -> Decimal | None:
    since = _year_before(as_of)
    return herfindahl_index(
        (p.payer, p.amount_fen)
        for p in data.of(PAYMENTS, PaymentReceived)
        if since < p.received_on <= as_of
    )


PROCUREMENT_FEATURES: tuple[Feature, ...] = (
    Feature(
        FeatureSpec(
            name="procurement.award_value_12m_fen",
            version=1,
            description="Total value of public procurement awards won in the last 12 months.",
            unit="fen",
            source_streams=(AWARDS,),
        ),
        award_value,
    ),
    Feature(
        FeatureSpec(
            name="procurement.award_count_12m",
            version=1,
            description="Number of public procurement awards won in the last 12 months.",
            unit="count",
            source_streams=(AWARDS,),
        ),
        award_count,
    ),
    Feature(
        FeatureSpec(
            name="procurement.payer_concentration_12m",
            version=1,
            description="Herfindahl index of payments received by payer over the last 12 "
            "months: 1 means a single payer; None without payments.",
            unit="ratio",
            source_streams=(PAYMENTS,),
        ),
        payer_concentration,
    ),
)
