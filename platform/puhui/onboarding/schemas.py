"""Onboarding inputs (msgspec): what the portal's forms and the operator's decisions carry."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "COMPLIANCE_CHECKLIST",
    "RISK_CHECKLIST",
    "SCENARIO_TYPES",
    "CooperationTerms",
    "InvitationCreate",
    "ProductionRequestCreate",
    "ReviewSubmission",
    "SignUp",
]

SCENARIO_TYPES: tuple[str, ...] = ("procurement", "utilities", "tax", "payroll", "marketplace")

# JR/T 0269 7.3.2 a: what the bank checks before cooperating (risk) and what it must confirm (law).
RISK_CHECKLIST: tuple[str, ...] = (
    "business_licence_verified",
    "scenario_data_authentic",
    "no_adverse_credit_or_litigation",
    "security_capability_adequate",
    "customer_protection_process",
)
COMPLIANCE_CHECKLIST: tuple[str, ...] = (
    "personal_information_minimised",
    "consent_and_purpose_defined",
    "data_retention_period_defined",
    "liability_and_indemnity_defined",
    "no_lending_or_fee_by_partner",
)


class SignUp(msgspec.Struct, frozen=True, kw_only=True):
    organisation: str
    uscc: str
    scenario_type: str
    kind: Literal["scenario_provider", "channel_app"]
    contact_name: str
    email: str
    phone: str
    password: str


class InvitationCreate(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    roles: tuple[str, ...]


class CooperationTerms(msgspec.Struct, frozen=True, kw_only=True):
    technical_plan: str
    data_retention_terms: str
    liability_terms: str


class ReviewSubmission(msgspec.Struct, frozen=True, kw_only=True):
    stage: Literal["risk", "compliance"]
    checked: tuple[str, ...]
    decision: Literal["approve", "request_changes", "reject"]
    comment: str


class ProductionRequestCreate(msgspec.Struct, frozen=True, kw_only=True):
    justification: str
    expected_monthly_calls: int
