"""Customer-facing reasons for a credit decision, in plain Chinese and English.

Anti-money-laundering and anti-fraud hits are never explained in detail: telling an applicant
which list or check they hit would tip them off, which anti-money-laundering rules forbid, so
those categories always show one neutral sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from puhui.risk.rules import Action, AdmissionRuleSet, Category, Hit, HitSource

__all__ = [
    "APPROVED",
    "COMPLIANCE_NEUTRAL",
    "GRADE_BELOW_REQUIREMENT",
    "LIMIT_BELOW_MINIMUM",
    "REVIEW_PENDING",
    "UNVERIFIED_INFORMATION",
    "CustomerReason",
    "explain",
]


class CustomerReason(msgspec.Struct, frozen=True, kw_only=True):
    """One sentence the customer sees, with the stable code staff can look up."""

    code: str
    zh: str
    en: str


APPROVED: Final = CustomerReason(
    code="APPROVED",
    zh="您的申请已通过审批。",
    en="Your application has been approved.",
)
REVIEW_PENDING: Final = CustomerReason(
    code="REVIEW_PENDING",
    zh="您的申请需要工作人员进一步审核,我们会尽快与您联系。",
    en="A staff member will look at your application and contact you soon.",
)
GRADE_BELOW_REQUIREMENT: Final = CustomerReason(
    code="GRADE_BELOW_REQUIREMENT",
    zh="根据企业的综合信用评估结果,暂不符合本产品的要求。",
    en="Your business's overall credit assessment does not meet this product's requirements.",
)
LIMIT_BELOW_MINIMUM: Final = CustomerReason(
    code="LIMIT_BELOW_MINIMUM",
    zh="根据企业近12个月的经营收入测算,可贷金额低于本产品的最低额度。",
    en="Based on the last 12 months of business income, the amount we can lend is below "
    "this product's minimum.",
)
UNVERIFIED_INFORMATION: Final = CustomerReason(
    code="UNVERIFIED_INFORMATION",
    zh="我们暂时无法核实您提交的申请信息。",
    en="We could not verify the information in your application.",
)
COMPLIANCE_NEUTRAL: Final = CustomerReason(
    code="COMPLIANCE_POLICY",
    zh="根据本行合规政策,暂时无法继续办理您的申请。",
    en="Under the bank's compliance policy we cannot take your application forward at present.",
)

_ROUTE_TEXT: Final = {
    "ROUTE_GRADE_DECLINE": GRADE_BELOW_REQUIREMENT,
    "ROUTE_LIMIT_BELOW_MIN": LIMIT_BELOW_MINIMUM,
}


def _for_hit(hit: Hit, ruleset: AdmissionRuleSet) -> CustomerReason:
    if hit.category is Category.AML_CFT:
        return COMPLIANCE_NEUTRAL
    if hit.source is HitSource.FRAUD or hit.category is Category.ANTI_FRAUD:
        return UNVERIFIED_INFORMATION
    text = ruleset.rule(hit.check_id).reason
    return CustomerReason(code=hit.reason_code, zh=text.zh, en=text.en)


def explain(
    *,
    declined: bool,
    route_reasons: Iterable[str],
    hits: Iterable[Hit],
    ruleset: AdmissionRuleSet,
) -> tuple[CustomerReason, ...]:
    """Plain-words reasons: why declined, or that a person will review, or that it was approved."""
    hits = tuple(hits)
    route_reasons = tuple(route_reasons)
    reasons: list[CustomerReason] = []
    if declined:
        reasons.extend(_for_hit(h, ruleset) for h in hits if h.action is Action.DECLINE)
        reasons.extend(_ROUTE_TEXT[c] for c in route_reasons if c in _ROUTE_TEXT)
    elif route_reasons:
        reasons.append(REVIEW_PENDING)
        reasons.extend(_for_hit(h, ruleset) for h in hits if h.action is Action.REFER)
    else:
        reasons.append(APPROVED)
    unique: dict[str, CustomerReason] = {}
    for reason in reasons:
        unique.setdefault(reason.code, reason)
    return tuple(unique.values())
