"""Repayment schedules for the four RMB repayment methods, and their recalculation on prepayment.

Rounding, stated once: each instalment's interest is rounded ROUND_HALF_UP to the fen; the level
payment (等额本息) is rounded ROUND_HALF_UP; the equal-principal share (等额本金) is truncated to
the fen. The last instalment takes whatever principal remains, so principal sums exactly to the
loan and the last closing balance is zero. Arithmetic is integer throughout (exact rate ratios).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from puhui.lending.daycount import DayCount, accrual_days, add_months, monthly_dates
from puhui.money import Rate, div_round_half_up

__all__ = [
    "Instalment",
    "LoanTerms",
    "Prepayment",
    "PrepaymentOption",
    "RepaymentMethod",
    "Schedule",
    "build_schedule",
    "prepay",
]

_MAX_TERM_MONTHS = 600


class RepaymentMethod(StrEnum):
    """How principal is paid back."""

    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息: level principal + interest (annuity)
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金: level principal, interest on the balance
    INTEREST_ONLY = "interest_only"  # 按月付息到期还本: monthly interest, principal at maturity
    BULLET = "bullet"  # 利随本清: principal and all interest in one payment at maturity


class PrepaymentOption(StrEnum):
    """What a partial prepayment buys the borrower: fewer instalments or smaller ones."""

    SHORTEN_TERM = "shorten_term"
    REDUCE_INSTALMENT = "reduce_instalment"


class Instalment(NamedTuple):
    """One scheduled repayment; amounts in fen, ``total = principal + interest + fees``."""

    number: int
    due_date: date
    principal: int
    interest: int
    fees: int
    total: int
    opening_balance: int
    closing_balance: int


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """The contract terms a schedule is built from.

    Due dates fall on ``repayment_day`` (default: the start date's day) of each month after the
    start month, clamped to the month's end; the first period may be longer or shorter than a
    month and earns interest for its actual length. ``instalment_fee`` is a fixed fee in fen
    charged with every instalment.
    """

    principal: int
    rate: Rate
    term_months: int
    start_date: date
    repayment_day: int | None = None
    day_count: DayCount = DayCount.THIRTY_360
    method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALMENT
    instalment_fee: int = 0

    def __post_init__(self) -> None:
        if not _is_int(self.principal) or self.principal <= 0:
            raise ValueError("principal must be a positive int of fen")
        if not isinstance(self.rate, Rate):
            raise TypeError("rate must be a puhui.money.Rate")
        if not _is_int(self.term_months) or not 1 <= self.term_months <= _MAX_TERM_MONTHS:
            raise ValueError(f"term must be 1..{_MAX_TERM_MONTHS} months")
        if self.repayment_day is not None and (
            not _is_int(self.repayment_day) or not 1 <= self.repayment_day <= 31
        ):
            raise ValueError("repayment day must be 1..31")
        if not _is_int(self.instalment_fee) or self.instalment_fee < 0:
            raise ValueError("instalment fee must be a non-negative int of fen")
        if not isinstance(self.day_count, DayCount) or not isinstance(self.method, RepaymentMethod):
            raise TypeError("day_count and method must be DayCount and RepaymentMethod members")

    def due_dates(self) -> tuple[date, ...]:
        """The contractual due dates: one at maturity for a bullet loan, else one a month."""
        day = self.start_date.day if self.repayment_day is None else self.repayment_day
        start = self.start_date
        if self.method is RepaymentMethod.BULLET:
            return (add_months(start, self.term_months, day),)
        return monthly_dates(start, self.term_months, day)


@dataclass(frozen=True, slots=True)
class Schedule:
    """An immutable repayment schedule amortising ``principal`` from ``start_date``.

    ``level_amount`` is what the method holds level: the principal-plus-interest payment for
    equal instalment, the principal share for equal principal, 0 for the other methods.
    """

    principal: int
    rate: Rate
    start_date: date
    day_count: DayCount
    method: RepaymentMethod
    level_amount: int
    instalment_fee: int
    instalments: tuple[Instalment, ...]

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.instalments)

    @property
    def total_fees(self) -> int:
        return sum(i.fees for i in self.instalments)

    @property
    def total_payable(self) -> int:
        return sum(i.total for i in self.instalments)

    @property
    def maturity_date(self) -> date:
        """The last due date (the start date for a settled, empty schedule)."""
        return self.instalments[-1].due_date if self.instalments else self.start_date

    def outstanding_on(self, on: date) -> tuple[int, date, tuple[Instalment, ...]]:
        """Principal outstanding on ``on`` if every instalment due by then was paid.

        Returns the balance, the date interest on it has accrued from, and the instalments
        still to come (due after ``on``).
        """
        if on < self.start_date:
            raise ValueError("date precedes the schedule's start")
        balance, accrues_from = self.principal, self.start_date
        for position, instalment in enumerate(self.instalments):
            if instalment.due_date > on:
                return balance, accrues_from, self.instalments[position:]
            balance, accrues_from = instalment.closing_balance, instalment.due_date
        return balance, accrues_from, ()

    def accrued_interest(self, on: date) -> int:
        """Interest accrued on the outstanding principal since the last due date up to ``on``."""
        balance, accrues_from, _ = self.outstanding_on(on)
        return div_round_half_up(
            balance * self.rate.numerator * accrual_days(accrues_from, on, self.day_count),
            self.rate.denominator * self.day_count.year_days,
        )

    def payoff_amount(self, on: date) -> int:
        """What settles the loan on ``on``: outstanding principal plus accrued interest."""
        return self.outstanding_on(on)[0] + self.accrued_interest(on)


@dataclass(frozen=True, slots=True)
class Prepayment:
    """The effect of a prepayment: accrued interest settled first, then principal.

    ``schedule`` is what remains to pay, numbered on from the original; it has no instalments
    when the prepayment settled the loan. ``overpayment`` is the part of the amount the loan
    could not absorb, for the caller to refund or hold in suspense.
    """

    on: date
    amount: int
    accrued_interest: int
    principal_repaid: int
    overpayment: int
    schedule: Schedule

    @property
    def settles_loan(self) -> bool:
        return not self.schedule.instalments


def build_schedule(terms: LoanTerms) -> Schedule:
    """The repayment schedule for ``terms``."""
    due_dates = terms.due_dates()
    level = _level_amount(terms.method, terms.principal, terms.rate, len(due_dates))
    instalments = _amortise(
        terms.principal,
        terms.rate,
        terms.day_count,
        terms.method,
        terms.start_date,
        due_dates,
        level,
        terms.instalment_fee,
        first_number=1,
        stop_when_repaid=False,
    )
    return Schedule(
        principal=terms.principal,
        rate=terms.rate,
        start_date=terms.start_date,
        day_count=terms.day_count,
        method=terms.method,
        level_amount=level,
        instalment_fee=terms.instalment_fee,
        instalments=instalments,
    )


def prepay(schedule: Schedule, on: date, amount: int, option: PrepaymentOption) -> Prepayment:
    """Apply a prepayment of ``amount`` fen made on ``on`` and recalculate what remains.

    Instalments due on or before ``on`` are taken as paid. Interest accrued since the last due
    date is settled first; the rest repays principal. The remaining due dates are kept: with
    ``REDUCE_INSTALMENT`` the level amount is recalculated over them, with ``SHORTEN_TERM`` it is
    kept and the loan ends early. Shortening only applies to amortising methods.
    """
    if not _is_int(amount) or amount <= 0:
        raise ValueError("prepayment amount must be a positive int of fen")
    balance, _, remaining = schedule.outstanding_on(on)
    if not remaining:
        raise ValueError("no instalment falls due after the prepayment date")
    amortising = schedule.method in (
        RepaymentMethod.EQUAL_INSTALMENT,
        RepaymentMethod.EQUAL_PRINCIPAL,
    )
    if option is PrepaymentOption.SHORTEN_TERM and not amortising:
        raise ValueError(f"shortening the term does not apply to {schedule.method} loans")
    accrued = schedule.accrued_interest(on)
    if amount <= accrued:
        raise ValueError("a prepayment must exceed the interest accrued to its date")
    principal_repaid = min(balance, amount - accrued)
    new_balance = balance - principal_repaid
    due_dates = tuple(i.due_date for i in remaining)
    instalments: tuple[Instalment, ...] = ()
    level = 0
    if new_balance:
        if option is PrepaymentOption.SHORTEN_TERM:
            level = schedule.level_amount
        else:
            level = _level_amount(schedule.method, new_balance, schedule.rate, len(due_dates))
        instalments = _amortise(
            new_balance,
            schedule.rate,
            schedule.day_count,
            schedule.method,
            on,
            due_dates,
            level,
            schedule.instalment_fee,
            first_number=remaining[0].number,
            stop_when_repaid=option is PrepaymentOption.SHORTEN_TERM,
        )
    rest = Schedule(
        principal=new_balance,
        rate=schedule.rate,
        start_date=on,
        day_count=schedule.day_count,
        method=schedule.method,
        level_amount=level,
        instalment_fee=schedule.instalment_fee,
        instalments=instalments,
    )
    return Prepayment(
        on=on,
        amount=amount,
        accrued_interest=accrued,
        principal_repaid=principal_repaid,
        overpayment=amount - accrued - principal_repaid,
        schedule=rest,
    )


@lru_cache(maxsize=1024)
def _annuity_factor(numerator: int, denominator: int, periods: int) -> tuple[int, int]:
    """The annuity factor r / (1 - (1+r)^-n) for monthly rate r = annual / 12, as a ratio."""
    a, b = numerator, 12 * denominator  # r = a / b
    grown, base = (a + b) ** periods, b**periods
    return a * grown, b * (grown - base)


def _level_amount(method: RepaymentMethod, principal: int, rate: Rate, periods: int) -> int:
    if method is RepaymentMethod.EQUAL_INSTALMENT:
        if rate.numerator == 0:
            return div_round_half_up(principal, periods)
        factor_num, factor_den = _annuity_factor(rate.numerator, rate.denominator, periods)
        return div_round_half_up(principal * factor_num, factor_den)
    if method is RepaymentMethod.EQUAL_PRINCIPAL:
        return principal // periods
    return 0


def _amortise(
    principal: int,
    rate: Rate,
    day_count: DayCount,
    method: RepaymentMethod,
    start: date,
    due_dates: tuple[date, ...],
    level: int,
    fee: int,
    *,
    first_number: int,
    stop_when_repaid: bool,
) -> tuple[Instalment, ...]:
    """Amortise ``principal`` over ``due_dates``; the hot loop, kept in exact integer maths."""
    # interest = balance * num * days / den_year, rounded half up as (2x + d) // 2d
    num2 = 2 * rate.numerator
    den_year = rate.denominator * day_count.year_days
    den_year2 = 2 * den_year
    thirty_360 = day_count is DayCount.THIRTY_360
    equal_instalment = method is RepaymentMethod.EQUAL_INSTALMENT
    equal_principal = method is RepaymentMethod.EQUAL_PRINCIPAL
    last = len(due_dates) - 1
    balance = principal
    previous = start
    rows: list[Instalment] = []
    append = rows.append
    for index, due in enumerate(due_dates):
        # Under 30/360 a regular period between two due dates is one whole month.
        if not index:
            days = accrual_days(previous, due, day_count)
        else:
            days = 30 if thirty_360 else (due - previous).days
        charge = (balance * num2 * days + den_year) // den_year2
        if index == last:
            repaid = balance
        elif equal_instalment:
            repaid = level - charge
            repaid = 0 if repaid < 0 else (balance if repaid > balance else repaid)
        elif equal_principal:
            repaid = level if level < balance else balance
        else:
            repaid = 0
        closing = balance - repaid
        append(
            Instalment(
                first_number + index,
                due,
                repaid,
                charge,
                fee,
                repaid + charge + fee,
                balance,
                closing,
            )
        )
        if stop_when_repaid and closing == 0:
            break
        balance = closing
        previous = due
    return tuple(rows)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
