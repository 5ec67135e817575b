"""The payroll connector: headcount, payroll totals, social insurance (7.2.2 production)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.catalog import FieldClass, Shape, StreamSpec, Volatility, classified
from connectors.payroll import normalise
from connectors.payroll.features import PAYROLL_FEATURES
from connectors.payroll.schemas import PayrollMonth, SocialInsuranceMonth
from connectors.pipeline import StreamBinding
from connectors.scenario import PullApiConfig, ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory, Secret

__all__ = ["PayrollConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2
_PATH = "/v1/enterprises/{uscc}/"


class PayrollConfig(PullApiConfig, frozen=True, kw_only=True):
    """Where the payroll provider's API is and the API key it issued to the bank."""

    api_key: Secret


def _auth(config: PayrollConfig) -> Mapping[str, str]:
    return {"x-api-key": config.api_key}


BINDINGS = (
    StreamBinding(
        spec=StreamSpec(
            name="payroll_months",
            title="Monthly payroll: headcount and gross pay",
            record_type=PayrollMonth,
            schema_version=1,
            primary_key=("payroll_id",),
            cursor_field="period",
            data_items=frozenset({"payroll_summary"}),
            fields=classified(
                payroll_id=C1, uscc=C1, period=C1, headcount=C2, gross_pay_fen=C2, paid_on=C1
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "payroll-months",
        raw_fields=normalise.PAYROLL_FIELDS,
        normaliser=normalise.normalise_payroll,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="social_insurance",
            title="Monthly social-insurance contributions",
            record_type=SocialInsuranceMonth,
            schema_version=1,
            primary_key=("record_id",),
            cursor_field="period",
            data_items=frozenset({"social_insurance"}),
            fields=classified(
                record_id=C1,
                uscc=C1,
                period=C1,
                insured_headcount=C2,
                employer_contribution_fen=C2,
                employee_contribution_fen=C2,
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "social-insurance",
        raw_fields=normalise.SOCIAL_FIELDS,
        normaliser=normalise.normalise_social_insurance,
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
    auth_headers=_auth,
    bindings=BINDINGS,
    features=PAYROLL_FEATURES,
)
