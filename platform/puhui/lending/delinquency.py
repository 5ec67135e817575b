"""Delinquency: days past due, M-buckets, penalty interest and the five-category classification.

Classification follows the five categories of the PRC risk-classification rules for bank assets
(正常, 关注, 次级, 可疑, 损失). The thresholds are data: a table of DPD bands plus floors for
risk flags (a restructured loan is at least substandard), loadable from configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any, NamedTuple

from puhui.lending.allocation import Receivable
from puhui.lending.daycount import DayCount
from puhui.money import Rate, div_round_half_up

__all__ = [
    "DEFAULT_RULES",
    "Classification",
    "ClassificationRules",
    "DelinquencyBucket",
    "DpdBand",
    "Floor",
    "LoanClass",
    "PenaltyRate",
    "RiskFlag",
    "classify",
    "days_past_due",
    "delinquency_bucket",
]


def days_past_due(receivables: Iterable[Receivable], as_of: date, tolerance: int = 0) -> int:
    """Days since the oldest instalment still owing more than ``tolerance`` fen fell due.

    An instalment due yesterday and unpaid is 1 day past due; one due today is not yet late.
    """
    oldest = min(
        (r.due_date for r in receivables if r.total > tolerance and r.due_date < as_of),
        default=None,
    )
    return 0 if oldest is None else (as_of - oldest).days


class DelinquencyBucket(StrEnum):
    """Collection buckets in 30-day steps: M0 is current, M6+ is 151 days past due or more."""

    M0 = "M0"
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4 = "M4"
    M5 = "M5"
    M6_PLUS = "M6+"


_BUCKETS = tuple(DelinquencyBucket)


def delinquency_bucket(dpd: int) -> DelinquencyBucket:
    """The bucket for ``dpd`` days past due: 0 -> M0, 1-30 -> M1, ..., 151+ -> M6+."""
    if dpd < 0:
        raise ValueError("days past due cannot be negative")
    return _BUCKETS[min(-(-dpd // 30), len(_BUCKETS) - 1)]


@dataclass(frozen=True, slots=True)
class PenaltyRate:
    """Penalty interest (罚息) on overdue principal and interest: contract rate plus a markup.

    Interest accrues for every day overdue at the marked-up rate over ``day_count``'s year
    (PBoC: 日利率 = 年利率 / 360), rounded ROUND_HALF_UP on the running total, so the daily
    postings of a batch add up exactly to the amount for the whole span.
    """

    markup: Decimal = Decimal("0.5")
    day_count: DayCount = DayCount.ACT_360

    def __post_init__(self) -> None:
        if not isinstance(self.markup, Decimal) or not self.markup.is_finite() or self.markup < 0:
            raise ValueError("markup must be a non-negative Decimal")

    def annual_rate(self, contract: Rate) -> Rate:
        """The penalty rate for a loan at ``contract``, e.g. 6 % + 50 % = 9 % a year."""
        return contract.marked_up(self.markup)

    def accrued(self, overdue: int, contract: Rate, due: date, until: date) -> int:
        """Penalty in fen on ``overdue`` fen, overdue since ``due``, accrued up to ``until``."""
        if overdue < 0:
            raise ValueError("overdue amount cannot be negative")
        days = max((until - due).days, 0)
        rate = self.annual_rate(contract)
        return div_round_half_up(
            overdue * rate.numerator * days, rate.denominator * self.day_count.year_days
        )

    def for_day(self, overdue: int, contract: Rate, due: date, day: date) -> int:
        """The penalty a daily batch posts for ``day`` (accrual to the end of that day)."""
        next_day = day + timedelta(days=1)
        return self.accrued(overdue, contract, due, next_day) - self.accrued(
            overdue, contract, due, day
        )


class LoanClass(StrEnum):
    """The five regulatory loan categories, in rising order of severity."""

    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def non_performing(self) -> bool:
        """Substandard, doubtful and loss loans are non-performing (不良贷款)."""
        return self.severity >= _SEVERITY[LoanClass.SUBSTANDARD]


_SEVERITY = {loan_class: rank for rank, loan_class in enumerate(LoanClass)}


class RiskFlag(StrEnum):
    """Well-known facts about a loan that can force a minimum class; tables may add others."""

    RESTRUCTURED = "restructured"  # 重组贷款


class DpdBand(NamedTuple):
    """Loans ``min_dpd``..``max_dpd`` days past due (``None``: no upper end) fall in a class."""

    min_dpd: int
    max_dpd: int | None
    loan_class: LoanClass


class Floor(NamedTuple):
    """A loan carrying ``flag`` is classified no better than ``at_least``."""

    flag: str
    at_least: LoanClass


@dataclass(frozen=True, slots=True)
class Classification:
    """A loan's class with the rules that produced it, for the audit trail."""

    loan_class: LoanClass
    dpd: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClassificationRules:
    """A rule table: contiguous DPD bands from 0 with an open-ended last band, plus floors."""

    bands: tuple[DpdBand, ...]
    floors: tuple[Floor, ...] = ()

    def __post_init__(self) -> None:
        if not self.bands or self.bands[0].min_dpd != 0:
            raise ValueError("DPD bands must start at 0 days")
        for band, following in pairwise(self.bands):
            if band.max_dpd is None or following.min_dpd != band.max_dpd + 1:
                raise ValueError(f"DPD bands leave a gap or overlap after {band}")
        for band in self.bands:
            if band.max_dpd is not None and band.max_dpd < band.min_dpd:
                raise ValueError(f"DPD band ends before it starts: {band}")
        if self.bands[-1].max_dpd is not None:
            raise ValueError("the last DPD band must be open-ended")

    @classmethod
    def from_table(cls, table: Mapping[str, Sequence[Mapping[str, Any]]]) -> ClassificationRules:
        """Load rules from configuration data.

        ``{"bands": [{"from": 0, "to": 0, "class": "normal"}, ...],
        "floors": [{"flag": "restructured", "at_least": "substandard"}]}``
        """
        bands = tuple(
            DpdBand(int(row["from"]), _optional_int(row.get("to")), LoanClass(row["class"]))
            for row in table["bands"]
        )
        floors = tuple(
            Floor(str(row["flag"]), LoanClass(row["at_least"])) for row in table.get("floors", ())
        )
        return cls(bands, floors)

    def band_for(self, dpd: int) -> DpdBand:
        for band in self.bands:
            if band.max_dpd is None or dpd <= band.max_dpd:
                return band
        raise AssertionError("unreachable: the last band is open-ended")  # pragma: no cover


# Defaults from the issue; a bank's own policy table replaces them via ClassificationRules.
DEFAULT_RULES = ClassificationRules(
    bands=(
        DpdBand(0, 0, LoanClass.NORMAL),
        DpdBand(1, 90, LoanClass.SPECIAL_MENTION),
        DpdBand(91, 180, LoanClass.SUBSTANDARD),
        DpdBand(181, 360, LoanClass.DOUBTFUL),
        DpdBand(361, None, LoanClass.LOSS),
    ),
    floors=(Floor(RiskFlag.RESTRUCTURED, LoanClass.SUBSTANDARD),),
)


def classify(
    dpd: int, flags: Iterable[str] = (), rules: ClassificationRules = DEFAULT_RULES
) -> Classification:
    """Classify a loan ``dpd`` days past due carrying ``flags`` under ``rules``."""
    if dpd < 0:
        raise ValueError("days past due cannot be negative")
    band = rules.band_for(dpd)
    upper = "+" if band.max_dpd is None else f"-{band.max_dpd}"
    loan_class = band.loan_class
    reasons = [f"{dpd} days past due: band {band.min_dpd}{upper} is {loan_class}"]
    present = set(flags)
    for floor in rules.floors:
        if floor.flag in present and floor.at_least.severity > loan_class.severity:
            loan_class = floor.at_least
            reasons.append(f"flag {floor.flag}: at least {floor.at_least}")
    return Classification(loan_class=loan_class, dpd=dpd, reasons=tuple(reasons))


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a day count: {value!r}")
    return int(value)
