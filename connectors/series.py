"""Exact statistics over monthly series for features: trend, volatility, concentration.

All in Decimal with explicit rounding (4 places, half-even) so a feature value is the
same on every machine and reproducible in a credit decision (architecture decision 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

__all__ = [
    "coefficient_of_variation",
    "herfindahl_index",
    "relative_trend",
    "trailing_months",
]

PLACES = Decimal("0.0001")


def _round(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def trailing_months(as_of: date, count: int) -> tuple[str, ...]:
    """The ``count`` months ending with ``as_of``'s month, as ``YYYY-MM``, oldest first."""
    index = as_of.year * 12 + as_of.month - 1
    return tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1))


def relative_trend(values: Sequence[int | Decimal]) -> Decimal | None:
    """Least-squares slope per step divided by the mean: +0.02 is 2 % growth a month.

    None for fewer than three points or a zero mean, where a trend means nothing.
    """
    n = len(values)
    if n < 3:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        ys = [Decimal(v) for v in values]
        mean_y = sum(ys, Decimal(0)) / n
        if mean_y == 0:
            return None
        mean_x = Decimal(n - 1) / 2
        sxy = sum(((Decimal(i) - mean_x) * (y - mean_y) for i, y in enumerate(ys)), Decimal(0))
        sxx = sum(((Decimal(i) - mean_x) ** 2 for i in range(n)), Decimal(0))
        return _round(sxy / sxx / mean_y)


def coefficient_of_variation(values: Sequence[int | Decimal]) -> Decimal | None:
    """Population standard deviation over the mean; None for fewer than three points."""
    n = len(values)
    if n < 3:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        xs = [Decimal(v) for v in values]
        mean = sum(xs, Decimal(0)) / n
        if mean == 0:
            return None
        variance = sum(((x - mean) ** 2 for x in xs), Decimal(0)) / n
        return _round(variance.sqrt() / abs(mean))


def herfindahl_index(amounts: Mapping[str, int] | Iterable[tuple[str, int]]) -> Decimal | None:
    """Sum of squared shares of total (0..1]: 1 means a single counterparty."""
    pairs = amounts.items() if isinstance(amounts, Mapping) else amounts
    totals: dict[str, int] = {}
    for name, amount in pairs:
        totals[name] = totals.get(name, 0) + amount
    grand = sum(totals.values())
    if grand <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        return _round(sum(((Decimal(v) / grand) ** 2 for v in totals.values()), Decimal(0)))
