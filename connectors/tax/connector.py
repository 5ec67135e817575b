"""The tax connector: electronic tax bureau data (JR/T 0269 7.2.2 public service)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.catalog import FieldClass, Shape, StreamSpec, Volatility, classified
from connectors.pipeline import StreamBinding
from connectors.scenario import PullApiConfig, ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory, Secret
from connectors.tax import normalise
from connectors.tax.features import TAX_FEATURES
from connectors.tax.schemas import CreditGrade, IncomeTaxReturn, TaxArrears, VatReturn

__all__ = ["TaxConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2


class TaxConfig(PullApiConfig, frozen=True, kw_only=True):
    """Where the tax data service is and the bearer token the bank holds for it."""

    access_token: Secret


def _auth(config: TaxConfig) -> Mapping[str, str]:
    return {"authorization": f"Bearer {config.access_token}"}


_PATH = "/v1/enterprises/{uscc}/"

BINDINGS = (
    StreamBinding(
        spec=StreamSpec(
            name="vat_returns",
            title="Monthly VAT returns with declared revenue",
            record_type=VatReturn,
            schema_version=1,
            primary_key=("filing_id",),
            cursor_field="period",
            data_items=frozenset({"vat_returns"}),
            fields=classified(
                filing_id=C1,
                uscc=C1,
                period=C1,
                declared_revenue_fen=C2,
                vat_payable_fen=C2,
                filed_on=C1,
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "vat-returns",
        raw_fields=normalise.VAT_FIELDS,
        normaliser=normalise.normalise_vat,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="income_tax_returns",
            title="Quarterly enterprise income-tax returns",
            record_type=IncomeTaxReturn,
            schema_version=1,
            primary_key=("filing_id",),
            cursor_field="filed_on",
            data_items=frozenset({"income_tax_returns"}),
            fields=classified(
                filing_id=C1,
                uscc=C1,
                tax_year=C1,
                quarter=C1,
                taxable_income_fen=C2,
                tax_payable_fen=C2,
                filed_on=C1,
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "income-tax-returns",
        raw_fields=normalise.INCOME_TAX_FIELDS,
        normaliser=normalise.normalise_income_tax,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="credit_grades",
            title="Annual tax credit grade (A/B/M/C/D)",
            record_type=CreditGrade,
            schema_version=1,
            primary_key=("uscc", "assessment_year"),
            cursor_field="assessment_year",
            data_items=frozenset({"tax_credit_grade"}),
            fields=classified(uscc=C1, assessment_year=C1, grade=C1, published_on=C1),
            volatility=Volatility.STATIC,
            shape=Shape.CROSS_SECTION,
        ),
        path=_PATH + "credit-grades",
        raw_fields=normalise.GRADE_FIELDS,
        normaliser=normalise.normalise_credit_grade,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="arrears",
            title="Tax arrears and late-payment penalties",
            record_type=TaxArrears,
            schema_version=1,
            primary_key=("arrears_id",),
            cursor_field="incurred_on",
            data_items=frozenset({"tax_arrears"}),
            fields=classified(
                arrears_id=C1,
                uscc=C1,
                tax_type=C1,
                principal_fen=C2,
                penalty_fen=C2,
                incurred_on=C1,
                settled_on=C1,
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "arrears",
        raw_fields=normalise.ARREARS_FIELDS,
        normaliser=normalise.normalise_arrears,
    ),
)

SPEC = ConnectorSpec(
    name="tax",
    version="1.0.0",
    title="Tax bureau filings and credit grade",
    category=ScenarioCategory.PUBLIC_SERVICE,
    data_source="State Taxation Administration e-tax bureau via licensed tax data service",
    auth_kind=AuthKind.BEARER,
    modes=frozenset({ConnectionMode.PULL_API, ConnectionMode.BULK_FILE}),
    config_schema=TaxConfig,
    description="VAT and income-tax returns, declared revenue, tax credit grade, arrears.",
)

connector: ScenarioConnector[TaxConfig] = ScenarioConnector(
    spec=SPEC,
    config_type=TaxConfig,
    auth_headers=_auth,
    bindings=BINDINGS,
    features=TAX_FEATURES,
)
