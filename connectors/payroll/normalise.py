"""Payroll upstream rows → canonical records (JR/T 0269 6.4.2 b)."""

from __future__ import annotations

from connectors.kit import day, fen, integer, mapped, period, text, uscc
from connectors.payroll.schemas import PayrollMonth, SocialInsuranceMonth

__all__ = ["normalise_payroll", "normalise_social_insurance"]

normalise_payroll = mapped(
    PayrollMonth,
    payroll_id=text("batch_no"),
    uscc=uscc("employer_uscc"),
    period=period("pay_month"),
    headcount=integer("employees"),
    gross_pay_fen=fen("gross_total"),
    paid_on=day("paid_at"),
)

normalise_social_insurance = mapped(
    SocialInsuranceMonth,
    record_id=text("record_no"),
    uscc=uscc("employer_uscc"),
    period=period("contribution_month"),
    insured_headcount=integer("insured_count"),
    employer_contribution_fen=fen("employer_part"),
    employee_contribution_fen=fen("employee_part"),
)
