"""Tax upstream rows → canonical records: units, formats and missing values (JR/T 0269 6.4.2 b)."""

from __future__ import annotations

from connectors.kit import (
    day,
    fen,
    integer,
    mapped,
    one_of,
    optional_day,
    period,
    text,
    uscc,
)
from connectors.tax.schemas import (
    CreditGrade,
    IncomeTaxReturn,
    TaxArrears,
    TaxRegistration,
    VatReturn,
)

__all__ = [
    "normalise_arrears",
    "normalise_credit_grade",
    "normalise_income_tax",
    "normalise_registration",
    "normalise_vat",
]

normalise_vat = mapped(
    VatReturn,
    filing_id=text("filing_no"),
    uscc=uscc("taxpayer_id"),
    period=period("period"),
    declared_revenue_fen=fen("sales_amount"),
    vat_payable_fen=fen("vat_payable"),
    filed_on=day("filed_date"),
)

normalise_income_tax = mapped(
    IncomeTaxReturn,
    filing_id=text("filing_no"),
    uscc=uscc("taxpayer_id"),
    tax_year=integer("tax_year", minimum=1990),
    quarter=integer("quarter", minimum=1, maximum=4),
    taxable_income_fen=fen("taxable_income", allow_negative=True),
    tax_payable_fen=fen("tax_payable"),
    filed_on=day("filed_date"),
)

normalise_credit_grade = mapped(
    CreditGrade,
    uscc=uscc("taxpayer_id"),
    assessment_year=integer("year", minimum=1990),
    grade=one_of("grade", {g: g for g in "ABMCD"}, "invalid_grade"),
    published_on=day("published_date"),
)

normalise_arrears = mapped(
    TaxArrears,
    arrears_id=text("arrears_no"),
    uscc=uscc("taxpayer_id"),
    tax_type=text("tax_type"),
    principal_fen=fen("principal"),
    penalty_fen=fen("penalty"),
    incurred_on=day("incurred_date"),
    settled_on=optional_day("settled_date"),
)

normalise_registration = mapped(
    TaxRegistration,
    uscc=uscc("taxpayer_id"),
    taxpayer_name=text("taxpayer_name"),
    legal_representative=text("legal_rep"),
    registered_on=day("registered_date"),
    tax_authority=text("authority"),
)
