"""Annualised rate (APR) by the IRR method over the borrower's real dated cash flows.

The borrower receives the disbursed amount net of upfront fees and pays every instalment with
its fees; the APR is the rate at which those flows have zero net present value. The default
annualisation is the monthly IRR times 12, the IRR method of PBoC Announcement [2021] No. 3 on
disclosing annualised loan rates; the effective ACT/365 rate (as in XIRR) is offered too.
The root is found in binary floating point (a rate, not money) and stated as a Decimal percent
rounded ROUND_HALF_UP to four decimals (6.1234 is 6.1234 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from typing import NamedTuple

from puhui.lending.daycount import add_months, is_month_end, whole_months_between
from puhui.lending.schedules import Schedule

__all__ = [
    "APR_PLACES",
    "Annualisation",
    "AprNotFound",
    "CashFlow",
    "CreditCost",
    "annual_percentage_rate",
    "borrower_cash_flows",
    "credit_cost",
    "net_present_value",
]

APR_PLACES = Decimal("0.0001")  # the APR is stated in percent to four decimals
_TOLERANCE = 1e-13  # relative, on the periodic rate; far below the stated precision
_MAX_ITERATIONS = 1000
_LOWEST_RATE = -0.999999  # a periodic rate of -100 % makes discounting meaningless
_HIGHEST_RATE = 1e100  # a days-long loan with a fee has an absurd but real effective rate


class Annualisation(StrEnum):
    """How the periodic IRR becomes an annual figure."""

    NOMINAL_MONTHLY = "nominal_monthly"  # monthly IRR x 12; time counted in months
    EFFECTIVE_ACT_365 = "effective_act_365"  # annual compounding; time = actual days / 365


class CashFlow(NamedTuple):
    """A dated amount in fen from the borrower's side: received positive, paid negative."""

    on: date
    amount: int


class AprNotFound(ValueError):
    """The cash flows have no rate at which they balance (e.g. all of one sign)."""


@dataclass(frozen=True, slots=True)
class CreditCost:
    """What credit costs the borrower: the APR and the total cost of credit in fen."""

    apr: Decimal
    annualisation: Annualisation
    amount_received: int
    total_payable: int

    @property
    def total_cost(self) -> int:
        """All interest and fees: what the borrower pays beyond what it received."""
        return self.total_payable - self.amount_received


def borrower_cash_flows(schedule: Schedule, upfront_fee: int = 0) -> tuple[CashFlow, ...]:
    """The borrower's flows: the net disbursement on the start date, then every instalment."""
    if upfront_fee < 0 or upfront_fee >= schedule.principal:
        raise ValueError("upfront fee must be non-negative and below the principal")
    flows = [CashFlow(schedule.start_date, schedule.principal - upfront_fee)]
    flows.extend(CashFlow(i.due_date, -i.total) for i in schedule.instalments)
    return tuple(flows)


def credit_cost(
    schedule: Schedule,
    upfront_fee: int = 0,
    annualisation: Annualisation = Annualisation.NOMINAL_MONTHLY,
) -> CreditCost:
    """The APR and total cost of credit of ``schedule`` with ``upfront_fee`` fen withheld."""
    flows = borrower_cash_flows(schedule, upfront_fee)
    return CreditCost(
        apr=annual_percentage_rate(flows, annualisation),
        annualisation=annualisation,
        amount_received=flows[0].amount,
        total_payable=schedule.total_payable,
    )


def annual_percentage_rate(
    flows: Sequence[CashFlow], annualisation: Annualisation = Annualisation.NOMINAL_MONTHLY
) -> Decimal:
    """The annual rate, in percent to four decimals, at which ``flows`` have zero NPV."""
    times, amounts = _timeline(flows, annualisation)
    periodic = _solve(times, amounts)
    periods_per_year = 12 if annualisation is Annualisation.NOMINAL_MONTHLY else 1
    with localcontext() as context:
        context.prec = 160  # room for four decimals on the largest rate the search admits
        return (Decimal(periodic) * periods_per_year * 100).quantize(APR_PLACES, ROUND_HALF_UP)


def net_present_value(
    flows: Sequence[CashFlow],
    apr: Decimal,
    annualisation: Annualisation = Annualisation.NOMINAL_MONTHLY,
) -> float:
    """NPV in fen of ``flows`` at the first flow's date, discounted at ``apr`` percent."""
    times, amounts = _timeline(flows, annualisation)
    periods_per_year = 12 if annualisation is Annualisation.NOMINAL_MONTHLY else 1
    return _npv(float(apr) / 100 / periods_per_year, times, amounts)[0]


def _timeline(
    flows: Sequence[CashFlow], annualisation: Annualisation
) -> tuple[list[float], list[float]]:
    if not flows:
        raise AprNotFound("no cash flows")
    if not any(f.amount > 0 for f in flows) or not any(f.amount < 0 for f in flows):
        raise AprNotFound("cash flows need both money received and money paid")
    origin = min(f.on for f in flows)
    if annualisation is Annualisation.NOMINAL_MONTHLY:
        times = [_months_elapsed(origin, f.on) for f in flows]
    else:
        times = [(f.on - origin).days / 365 for f in flows]
    return times, [float(f.amount) for f in flows]


def _months_elapsed(origin: date, on: date) -> float:
    """Months from ``origin`` to ``on``: whole months plus the odd days' share of the next."""
    months, odd_days = whole_months_between(origin, on)
    if odd_days == 0:
        return float(months)
    anchor = 31 if is_month_end(origin) else origin.day
    month_length = (
        add_months(origin, months + 1, anchor) - add_months(origin, months, anchor)
    ).days
    return months + odd_days / month_length


def _npv(rate: float, times: list[float], amounts: list[float]) -> tuple[float, float]:
    """NPV and its derivative with respect to the periodic rate."""
    growth = 1.0 + rate
    value = slope = 0.0
    for t, amount in zip(times, amounts, strict=True):
        discounted = amount * growth**-t
        value += discounted
        slope -= t * discounted / growth
    return value, slope


def _solve(times: list[float], amounts: list[float]) -> float:
    """Bracketed Newton: Newton steps while they stay inside the bracket, else bisection."""
    low, f_low, high, f_high = _bracket(times, amounts)
    if f_low == 0:
        return low
    if f_high == 0:
        return high
    rate = 0.01 if low < 0.01 < high else (low + high) / 2
    for _ in range(_MAX_ITERATIONS):
        value, slope = _npv(rate, times, amounts)
        if value == 0:
            return rate
        if (value < 0) == (f_low < 0):
            low = rate
        else:
            high = rate
        candidate = rate - value / slope if slope != 0 else low
        if not low < candidate < high:
            candidate = (low + high) / 2
        scale = max(1.0, abs(candidate))
        if abs(candidate - rate) < _TOLERANCE * scale or high - low < _TOLERANCE * scale:
            return candidate
        rate = candidate
    raise AprNotFound("the rate search did not converge")


def _bracket(times: list[float], amounts: list[float]) -> tuple[float, float, float, float]:
    """Widen [-50 %, 100 %] per period on both sides until the NPV changes sign.

    Towards -100 % discount factors explode; a side that overflows stops widening.
    """
    low, high = -0.5, 1.0
    f_low, f_high = _npv(low, times, amounts)[0], _npv(high, times, amounts)[0]
    can_lower = can_raise = True
    while f_low * f_high > 0 and (can_lower or can_raise):
        if can_raise:
            can_raise = high * 4 <= _HIGHEST_RATE
            if can_raise:
                high *= 4
                f_high = _npv(high, times, amounts)[0]
        if can_lower and f_low * f_high > 0:
            candidate = -1 + (1 + low) / 4
            try:
                f_candidate = _npv(candidate, times, amounts)[0]
            except OverflowError:
                can_lower = False
            else:
                low, f_low = candidate, f_candidate
                can_lower = -1 + (1 + low) / 4 >= _LOWEST_RATE  # room for another step
    if f_low * f_high > 0:
        raise AprNotFound("no rate balances these cash flows")
    return low, f_low, high, f_high
