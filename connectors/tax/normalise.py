"""Tax upstream rows → canonical records: units, formats and missing values (JR/T 0269 6.4.2 b)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.cleaning import (
    RowRejected,
    parse_amount_fen,
    parse_date,
    parse_int,
    parse_optional_date,
    parse_period,
    require_text,
    require_uscc,
)
from connectors.tax.schemas import CreditGrade, IncomeTaxReturn, TaxArrears, VatReturn

__all__ = [
    "ARREARS_FIELDS",
    "GRADE_FIELDS",
    "INCOME_TAX_FIELDS",
    "VAT_FIELDS",
    "normalise_arrears",
    "normalise_credit_grade",
    "normalise_income_tax",
    "normalise_vat",
]

GRADES = frozenset("ABMCD")
VAT_FIELDS = ("filing_no", "taxpayer_id", "period", "sales_amount", "vat_payable", "filed_date")
INCOME_TAX_FIELDS = (
    "filing_no",
    "taxpayer_id",
    "tax_year",
    "quarter",
    "taxable_income",
    "tax_payable",
    "filed_date",
)
GRADE_FIELDS = ("taxpayer_id", "year", "grade", "published_date")
ARREARS_FIELDS = (
    "arrears_no",
    "taxpayer_id",
    "tax_type",
    "principal",
    "penalty",
    "incurred_date",
    "settled_date",
)


def normalise_vat(row: Mapping[str, object]) -> VatReturn:
    return VatReturn(
        filing_id=require_text(row, "filing_no"),
        uscc=require_uscc(row, "taxpayer_id"),
        period=parse_period(row, "period"),
        declared_revenue_fen=parse_amount_fen(row, "sales_amount"),
        vat_payable_fen=parse_amount_fen(row, "vat_payable"),
        filed_on=parse_date(row, "filed_date"),
    )


def normalise_income_tax(row: Mapping[str, object]) -> IncomeTaxReturn:
    quarter = parse_int(row, "quarter", minimum=1)
    if quarter > 4:
        raise RowRejected("out_of_range", "quarter")
    return IncomeTaxReturn(
        filing_id=require_text(row, "filing_no"),
        uscc=require_uscc(row, "taxpayer_id"),
        tax_year=parse_int(row, "tax_year", minimum=1990),
        quarter=quarter,
        taxable_income_fen=parse_amount_fen(row, "taxable_income", allow_negative=True),
        tax_payable_fen=parse_amount_fen(row, "tax_payable"),
        filed_on=parse_date(row, "filed_date"),
    )


def normalise_credit_grade(row: Mapping[str, object]) -> CreditGrade:
    grade = require_text(row, "grade").upper()
    if grade not in GRADES:
        raise RowRejected("invalid_grade", "grade")
    return CreditGrade(
        uscc=require_uscc(row, "taxpayer_id"),
        assessment_year=parse_int(row, "year", minimum=1990),
        grade=grade,
        published_on=parse_date(row, "published_date"),
    )


def normalise_arrears(row: Mapping[str, object]) -> TaxArrears:
    return TaxArrears(
        arrears_id=require_text(row, "arrears_no"),
        uscc=require_uscc(row, "taxpayer_id"),
        tax_type=require_text(row, "tax_type"),
        principal_fen=parse_amount_fen(row, "principal"),
        penalty_fen=parse_amount_fen(row, "penalty"),
        incurred_on=parse_date(row, "incurred_date"),
        settled_on=parse_optional_date(row, "settled_date"),
    )
