"""Canonical records of the tax connector (electronic tax bureau data, 电子税务局)."""

from __future__ import annotations

from datetime import date

import msgspec

__all__ = ["CreditGrade", "IncomeTaxReturn", "TaxArrears", "TaxRegistration", "VatReturn"]


class VatReturn(msgspec.Struct, frozen=True, kw_only=True):
    """A monthly VAT return: declared sales (revenue) and VAT payable."""

    filing_id: str
    uscc: str
    period: str  # YYYY-MM
    declared_revenue_fen: int
    vat_payable_fen: int
    filed_on: date


class IncomeTaxReturn(msgspec.Struct, frozen=True, kw_only=True):
    """A quarterly enterprise income-tax prepayment return."""

    filing_id: str
    uscc: str
    tax_year: int
    quarter: int
    taxable_income_fen: int  # negative for a loss
    tax_payable_fen: int
    filed_on: date


class CreditGrade(msgspec.Struct, frozen=True, kw_only=True):
    """The annual tax credit grade (纳税信用等级) A/B/M/C/D."""

    uscc: str
    assessment_year: int
    grade: str
    published_on: date


class TaxArrears(msgspec.Struct, frozen=True, kw_only=True):
    """Unpaid tax (欠税) and late-payment penalties; settled_on is None while outstanding."""

    arrears_id: str
    uscc: str
    tax_type: str
    principal_fen: int
    penalty_fen: int
    incurred_on: date
    settled_on: date | None


class TaxRegistration(msgspec.Struct, frozen=True, kw_only=True):
    """The taxpayer registration (税务登记): the registered name and legal representative, the
    authority for identity consistency checks at application (JR/T 0269 9.6)."""

    uscc: str
    taxpayer_name: str
    legal_representative: str
    registered_on: date
    tax_authority: str
