"""The payroll connector: headcount, payroll totals, social insurance (7.2.2 production)."""

from __future__ import annotations

from connectors.catalog import FieldClass
from connectors.kit import ApiKeyConfig, api_key_auth, stream
from connectors.payroll.features import PAYROLL_FEATURES
from connectors.payroll.normalise import normalise_payroll, normalise_social_insurance
from connectors.scenario import ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory

__all__ = ["PayrollConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2


class PayrollConfig(ApiKeyConfig, frozen=True, kw_only=True):
    """Where the payroll provider's API is and the API key it issued to the bank."""


BINDINGS = (
    stream(
        "payroll_months",
        "Monthly payroll: headcount and gross pay",
        normaliser=normalise_payroll,
        key="payroll_id",
        cursor="period",
        items={"payroll_summary"},
        classes={
            "payroll_id": C1,
            "uscc": C1,
            "period": C1,
            "headcount": C2,
            "gross_pay_fen": C2,
            "paid_on": C1,
        },
    ),
    stream(
        "social_insurance",
        "Monthly social-insurance contributions",
        normaliser=normalise_social_insurance,
        key="record_id",
        cursor="period",
        classes={
            "record_id": C1,
            "uscc": C1,
            "period": C1,
            "insured_headcount": C2,
            "employer_contribution_fen": C2,
            "employee_contribution_fen": C2,
        },
    ),
)

SPEC = ConnectorSpec(
    name="payroll",
    version="1.0.0",
    title="Payroll and social insurance",
    category=ScenarioCategory.PRODUCTION_OPERATION,
    data_source="Payroll SaaS provider (aggregate payroll, no individual employee data)",
    auth_kind=AuthKind.API_KEY,
    modes=frozenset({ConnectionMode.PULL_API, ConnectionMode.PUSH_WEBHOOK}),
    config_schema=PayrollConfig,
    description="Headcount, monthly payroll totals and social-insurance contributions.",
)

connector: ScenarioConnector[PayrollConfig] = ScenarioConnector(
    spec=SPEC,
    config_type=PayrollConfig,
    auth_headers=api_key_auth(),
    bindings=BINDINGS,
    features=PAYROLL_FEATURES,
)
