"""Deterministic persona data and the untidy ways upstreams render it, for the simulators."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from connectors.personas import REFERENCE_DATE, Persona, months_back

__all__ = [
    "MonthlyTrading",
    "date_variant",
    "last_day",
    "money_variant",
    "period_variant",
    "seeded",
    "trading_history",
]


def seeded(seed: int, *parts: str) -> random.Random:
    """A random source fixed by the seed and a label, so every run serves the same data."""
    return random.Random(":".join((str(seed), *parts)))  # noqa: S311 - simulation, not security


class MonthlyTrading:
    """One month of an enterprise's trading: revenue and headcount."""

    __slots__ = ("headcount", "period", "revenue_fen")

    def __init__(self, period: str, revenue_fen: int, headcount: int) -> None:
        self.period = period
        self.revenue_fen = revenue_fen
        self.headcount = headcount


def trading_history(
    persona: Persona, seed: int, until: date = REFERENCE_DATE
) -> list[MonthlyTrading]:
    """The persona's monthly revenue and headcount, oldest first; every simulator agrees on it."""
    rng = seeded(seed, persona.uscc, "trading")
    periods = months_back(persona.months_of_history, until)
    span = max(1, len(periods) - 1)
    history = []
    for i, period in enumerate(periods):
        growth = (1 + persona.monthly_growth) ** i
        noise = 1 + persona.revenue_noise * Decimal(str(round(rng.uniform(-1, 1), 4)))
        revenue = (Decimal(persona.monthly_revenue_fen) * growth * noise).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        heads = (
            persona.headcount_start + (persona.headcount_end - persona.headcount_start) * i / span
        )
        history.append(MonthlyTrading(period, int(revenue), round(heads)))
    return history


def last_day(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def date_variant(day: date, variant: int) -> str:
    """The same date as ISO, slashed, compact or 年月日, depending on ``variant``."""
    forms = (
        day.isoformat(),
        f"{day.year}/{day.month:02d}/{day.day:02d}",
        day.strftime("%Y%m%d"),
        f"{day.year}年{day.month}月{day.day}日",
    )
    return forms[variant % len(forms)]


def period_variant(period: str, variant: int) -> str:
    year, month = period[:4], int(period[5:7])
    forms = (period, f"{year}{month:02d}", f"{year}年{month}月", f"{year}/{month}")
    return forms[variant % len(forms)]


def money_variant(fen: int, variant: int) -> object:
    """An amount as a 元 number, a "¥1,234.50" string or a "12.345万元" string."""
    yuan = Decimal(fen) / 100
    forms: tuple[object, ...] = (
        yuan,
        f"¥{yuan:,.2f}",
        f"{format((Decimal(fen) / 1_000_000).normalize(), 'f')}万元",
    )
    return forms[variant % len(forms)]
