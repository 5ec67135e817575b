"""Canonical records of the payroll connector: monthly payroll and social insurance."""

from __future__ import annotations

from datetime import date

import msgspec

__all__ = ["PayrollMonth", "SocialInsuranceMonth"]


class PayrollMonth(msgspec.Struct, frozen=True, kw_only=True):
    """One month's payroll run: headcount paid and gross pay total."""

    payroll_id: str
    uscc: str
    period: str  # YYYY-MM
    headcount: int
    gross_pay_fen: int
    paid_on: date


class SocialInsuranceMonth(msgspec.Struct, frozen=True, kw_only=True):
    """One month's social-insurance contributions declared for the enterprise's staff."""

    record_id: str
    uscc: str
    period: str
    insured_headcount: int
    employer_contribution_fen: int
    employee_contribution_fen: int
