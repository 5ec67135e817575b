"""The one money convention: amounts are ``int`` fen, rates are exact ``Decimal`` annual rates.

Floats never enter: parsing refuses them, and every rounding is explicit ROUND_HALF_UP to the fen
(half a fen rounds away from zero), the convention stated in loan contracts and disclosures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "FEN_PER_YUAN",
    "InvalidAmount",
    "InvalidRate",
    "Rate",
    "div_round_half_up",
    "format_yuan",
    "parse_yuan",
    "round_fen",
    "yuan_to_fen",
]

FEN_PER_YUAN = 100
_ONE = Decimal(1)
# Optional sign, digits either plain or grouped by commas in threes, at most two decimals.
_YUAN_TEXT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?")
# A rate above 1000 % a year is a data-entry error, not a loan.
_MAX_ANNUAL_RATE = Decimal(10)


class InvalidAmount(ValueError):
    """A money amount that is malformed, carries sub-fen precision, or arrived as a float."""


class InvalidRate(ValueError):
    """An interest rate that is not a finite, non-negative, plausible Decimal."""


def div_round_half_up(numerator: int, denominator: int) -> int:
    """Exact integer division rounded half away from zero (ROUND_HALF_UP), without Decimal."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def round_fen(amount: Decimal) -> int:
    """Round a fractional amount of fen to a whole fen, ROUND_HALF_UP."""
    _require_decimal(amount)
    return int(amount.quantize(_ONE, rounding=ROUND_HALF_UP))


def yuan_to_fen(amount: Decimal) -> int:
    """Convert a Decimal yuan amount to fen, rounding ROUND_HALF_UP (for computed amounts)."""
    _require_decimal(amount)
    return round_fen(amount * FEN_PER_YUAN)


def parse_yuan(value: str | Decimal | int) -> int:
    """Parse an amount given in yuan ("12,345.67", Decimal("0.5"), 3) into exact fen.

    Input is money someone typed or sent, so it is never rounded: more than two decimals,
    floats, booleans, NaN and infinities are refused with ``InvalidAmount``.
    """
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise InvalidAmount(f"amount must be a str, Decimal or int of yuan, not {type(value)!r}")
    if isinstance(value, int):
        return value * FEN_PER_YUAN
    if isinstance(value, str):
        text = value.strip()
        if not _YUAN_TEXT.fullmatch(text):
            raise InvalidAmount(f"not a yuan amount with at most two decimals: {value!r}")
        return int(Decimal(text.replace(",", "")) * FEN_PER_YUAN)
    if not value.is_finite():
        raise InvalidAmount(f"amount must be finite: {value!r}")
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise InvalidAmount(f"amount has sub-fen precision: {value!r}")
    return int(fen)


def format_yuan(fen: int) -> str:
    """Format fen as yuan with thousands separators and two decimals: 1234567 -> "12,345.67"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidAmount(f"amount must be int fen, not {type(fen)!r}")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan:,}.{cents:02d}"


@dataclass(frozen=True, slots=True)
class Rate:
    """A nominal annual interest rate as an exact Decimal fraction (0.06 is 6 % a year)."""

    annual: Decimal
    # The exact rate as numerator/denominator, so schedules can stay in integer arithmetic.
    numerator: int = field(init=False, repr=False, compare=False)
    denominator: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.annual, Decimal):
            raise InvalidRate(f"rate must be a Decimal, not {type(self.annual)!r}")
        if not self.annual.is_finite() or not (0 <= self.annual <= _MAX_ANNUAL_RATE):
            raise InvalidRate(f"annual rate out of range [0, {_MAX_ANNUAL_RATE}]: {self.annual}")
        numerator, denominator = self.annual.as_integer_ratio()
        object.__setattr__(self, "numerator", numerator)
        object.__setattr__(self, "denominator", denominator)

    @classmethod
    def percent(cls, value: str | Decimal | int) -> Rate:
        """Build a rate from a percentage: ``Rate.percent("6")`` is 6 % a year."""
        if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
            raise InvalidRate(f"percentage must be a str, Decimal or int, not {type(value)!r}")
        try:
            return cls(Decimal(value) / 100)
        except InvalidOperation as exc:
            raise InvalidRate(f"not a percentage: {value!r}") from exc

    @property
    def as_percent(self) -> Decimal:
        """The rate as a percentage (6 for 6 %)."""
        return self.annual * 100

    def marked_up(self, markup: Decimal) -> Rate:
        """This rate raised by a fraction of itself: ``marked_up(Decimal("0.5"))`` is +50 %."""
        if not isinstance(markup, Decimal) or not markup.is_finite() or markup < 0:
            raise InvalidRate(f"markup must be a non-negative Decimal, not {markup!r}")
        return Rate(self.annual * (1 + markup))

    def __str__(self) -> str:
        return f"{self.as_percent.normalize():f}%"


def _require_decimal(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount(f"amount must be a finite Decimal, not {amount!r}")
