"""The tax connector: electronic tax bureau data (JR/T 0269 7.2.2 public service)."""

from __future__ import annotations

from connectors.catalog import FieldClass, Shape, Volatility
from connectors.kit import BearerConfig, bearer_auth, stream
from connectors.scenario import ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory
from connectors.tax import normalise
from connectors.tax.features import TAX_FEATURES

__all__ = ["TaxConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2


class TaxConfig(BearerConfig, frozen=True, kw_only=True):
    """Where the tax data service is and the bearer token the bank holds for it."""


BINDINGS = (
    stream(
        "vat_returns",
        "Monthly VAT returns with declared revenue",
        normaliser=normalise.normalise_vat,
        key="filing_id",
        cursor="period",
        classes={
            "filing_id": C1,
            "uscc": C1,
            "period": C1,
            "declared_revenue_fen": C2,
            "vat_payable_fen": C2,
            "filed_on": C1,
        },
    ),
    stream(
        "income_tax_returns",
        "Quarterly enterprise income-tax returns",
        normaliser=normalise.normalise_income_tax,
        key="filing_id",
        cursor="filed_on",
        classes={
            "filing_id": C1,
            "uscc": C1,
            "tax_year": C1,
            "quarter": C1,
            "taxable_income_fen": C2,
            "tax_payable_fen": C2,
            "filed_on": C1,
        },
    ),
    stream(
        "credit_grades",
        "Annual tax credit grade (A/B/M/C/D)",
        normaliser=normalise.normalise_credit_grade,
        key=("uscc", "assessment_year"),
        cursor="assessment_year",
        items={"tax_credit_grade"},
        classes={"uscc": C1, "assessment_year": C1, "grade": C1, "published_on": C1},
        volatility=Volatility.STATIC,
        shape=Shape.CROSS_SECTION,
    ),
    stream(
        "arrears",
        "Tax arrears and late-payment penalties",
        normaliser=normalise.normalise_arrears,
        key="arrears_id",
        cursor="incurred_on",
        items={"tax_arrears"},
        classes={
            "arrears_id": C1,
            "uscc": C1,
            "tax_type": C1,
            "principal_fen": C2,
            "penalty_fen": C2,
            "incurred_on": C1,
            "settled_on": C1,
        },
    ),
    stream(
        "registration",
        "Taxpayer registration: registered name and legal representative",
        normaliser=normalise.normalise_registration,
        key="uscc",
        cursor=None,
        items={"tax_registration"},
        classes={
            "uscc": C1,
            "taxpayer_name": C1,
            "legal_representative": C2,
            "registered_on": C1,
            "tax_authority": C1,
        },
        volatility=Volatility.STATIC,
        shape=Shape.CROSS_SECTION,
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
    auth_headers=bearer_auth(),
    bindings=BINDINGS,
    features=TAX_FEATURES,
)
