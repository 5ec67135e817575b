"""From stored scenario features to what the decision reads: scorecard inputs, facts, capacity.

Connector features are named ``<source>.<feature>`` (docs/connectors.md); the sandbox scorecard
was trained on the synthetic columns of `puhui.risk.synthetic`. This module is the one mapping
between the two, so a renamed feature breaks here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

import msgspec

from puhui.risk.decision import FeatureValue
from puhui.risk.limits import Mitigation, MitigationKind, RepaymentCapacity
from puhui.risk.rules import AdmissionFacts

__all__ = [
    "StoredFeatures",
    "admission_facts",
    "repayment_capacity",
    "scorecard_features",
    "sources_of",
    "stored_features",
]

# scorecard column ← connector feature
_SCORECARD: Final = {
    "tax_revenue_trend": "tax.revenue_trend_12m",
    "tax_revenue_volatility": "tax.revenue_volatility_12m",
    "tax_credit_grade": "tax.credit_grade",
    "payroll_headcount_change": "payroll.headcount_change_12m",
    "utility_arrears_count": "utilities.arrears_count",
    "utility_consumption_stability": "utilities.electricity_stability_12m",
    "payer_concentration": "procurement.payer_concentration_12m",
}
_AWARD_FEN: Final = "procurement.award_value_12m_fen"  # the model reads yuan
# Government procurement awards of the last 12 months: the contract receivables the enterprise
# will collect from public buyers (the procurement connector's awards are all public buyers).
_RECEIVABLES_FEN: Final = _AWARD_FEN


class StoredFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """An enterprise's latest features and, per source, when that source's data was current."""

    values: dict[str, int | Decimal | str | None]
    as_of_by_source: dict[str, datetime]


def stored_features(
    values: Mapping[str, object], staleness_by_source: Mapping[str, object], now: datetime
) -> StoredFeatures:
    """Adapt the scenario store's FeatureSet; staleness is an as-of time or an age."""
    as_of: dict[str, datetime] = {}
    for source, stale in staleness_by_source.items():
        if isinstance(stale, datetime):
            as_of[source] = stale
        elif isinstance(stale, timedelta):
            as_of[source] = now - stale
        elif isinstance(stale, int | float) and not isinstance(stale, bool):
            as_of[source] = now - timedelta(seconds=float(stale))
    kept: dict[str, int | Decimal | str | None] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            continue
        if value is None or isinstance(value, int | Decimal | str):
            kept[name] = value
        elif isinstance(value, float):
            kept[name] = Decimal(str(value))
    return StoredFeatures(values=kept, as_of_by_source=as_of)


def sources_of(features: StoredFeatures) -> frozenset[str]:
    """Data sources that delivered at least one non-empty feature."""
    return frozenset(
        name.split(".", 1)[0] for name, value in features.values.items() if value is not None
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return float(value)
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def scorecard_features(features: StoredFeatures) -> dict[str, FeatureValue]:
    """The sandbox scorecard's inputs; a feature the store lacks is missing (its own bin)."""
    out: dict[str, FeatureValue] = {}
    for column, name in _SCORECARD.items():
        value = features.values.get(name)
        out[column] = value if isinstance(value, str) else _number(value)
    award = _number(features.values.get(_AWARD_FEN))
    out["procurement_award_value"] = None if award is None else round(award / 100, 2)
    return out


def admission_facts(features: StoredFeatures, *, applicant_is_legal_rep: bool) -> AdmissionFacts:
    """Admission facts the stored sources establish (JR/T 0269 9.2.2 a); the rest stay unknown."""
    grade = features.values.get("tax.credit_grade")
    return AdmissionFacts(
        tax_credit_grade=grade if isinstance(grade, str) else None,
        tax_arrears_fen=_int(features.values.get("tax.arrears_outstanding_fen")),
        utility_arrears_months_12m=_int(features.values.get("utilities.arrears_count")),
        applicant_is_legal_rep=applicant_is_legal_rep,
    )


def repayment_capacity(
    features: StoredFeatures, mitigations: Iterable[MitigationKind] = ()
) -> RepaymentCapacity:
    """Cash flow and mitigations behind the limit (9.3.2 a).

    Cash flow: declared revenue and payroll over 12 months, and the government-contract
    receivables (awards of the last 12 months; the limit policy haircuts them). Mitigation: when
    the product takes an assignment of those receivables (政采贷), their face value as a
    `government_procurement_assignment`, advanced at the policy's rate.
    """
    receivables = max(0, _int(features.values.get(_RECEIVABLES_FEN)) or 0)
    kinds = frozenset(mitigations)
    held: list[Mitigation] = []
    if MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT in kinds and receivables > 0:
        held.append(
            Mitigation(kind=MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT, value_fen=receivables)
        )
    return RepaymentCapacity(
        tax_revenue_12m_fen=_int(features.values.get("tax.declared_revenue_12m_fen")) or 0,
        payroll_12m_fen=_int(features.values.get("payroll.gross_pay_12m_fen")) or 0,
        procurement_receivables_fen=receivables,
        mitigations=tuple(held),
    )
