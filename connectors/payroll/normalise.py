"""Payroll upstream rows → canonical records (JR/T 0269 6.4.2 b)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.cleaning import (
    parse_amount_fen,
    parse_date,
    parse_int,
    parse_period,
    require_text,
    require_uscc,
)
from connectors.payroll.schemas import PayrollMonth, SocialInsuranceMonth

__all__ = ["PAYROLL_FIELDS", "SOCIAL_FIELDS", "normalise_payroll", "normalise_social_insurance"]

PAYROLL_FIELDS = ("batch_no", "employer_uscc", "pay_month", "employees", "gross_total", "paid_at")
SOCIAL_FIELDS = (
    "record_no",
    "employer_uscc",
    "contribution_month",
    "insured_count",
    "employer_part",
    "employee_part",
)


def normalise_payroll(row: Mapping[str, object]) -> PayrollMonth:
    return PayrollMonth(
        payroll_id=require_text(row, "batch_no"),
        uscc=require_uscc(row, "employer_uscc"),
        period=parse_period(row, "pay_month"),
        headcount=parse_int(row, "employees"),
        gross_pay_fen=parse_amount_fen(row, "gross_total"),
        paid_on=parse_date(row, "paid_at"),
    )


def normalise_social_insurance(row: Mapping[str, object]) -> SocialInsuranceMonth:
    return SocialInsuranceMonth(
        record_id=require_text(row, "record_no"),
        uscc=require_uscc(row, "employer_uscc"),
        period=parse_period(row, "contribution_month"),
        insured_headcount=parse_int(row, "insured_count"),
        employer_contribution_fen=parse_amount_fen(row, "employer_part"),
        employee_contribution_fen=parse_amount_fen(row, "employee_part"),
    )
