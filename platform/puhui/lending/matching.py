"""Product matching (JR/T 0269 8.4.2 b): which products best fit a customer's stated need."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from puhui.lending.products import ProductSpec
from puhui.lending.schedules import RepaymentMethod

__all__ = ["Need", "ProductMatch", "match_products"]


class Need(msgspec.Struct, frozen=True, kw_only=True):
    """What the customer asks for; absent fields do not constrain."""

    amount_fen: int
    term_months: int | None = None
    repayment_method: RepaymentMethod | None = None
    scenario: str | None = None
    channel: str | None = None  # the partner's tenant code


class ProductMatch(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    version: int
    fit: int  # 0-100, higher fits better
    reasons: tuple[str, ...]


def match_products(
    specs: Iterable[ProductSpec], need: Need, *, limit: int = 3
) -> list[ProductMatch]:
    """Rank products that can serve the need: amount first, then term, method, scenario, price.

    A product that cannot lend the amount, or is not offered through the channel, is left out.
    """
    ranked: list[tuple[int, int, str, ProductMatch]] = []
    for spec in specs:
        if need.channel is not None and need.channel not in spec.partner_channels:
            continue
        if not spec.min_amount_fen <= need.amount_fen <= spec.max_amount_fen:
            continue
        fit, reasons = 40, ["AMOUNT_WITHIN_BOUNDS"]
        if need.term_months is not None:
            if need.term_months in spec.term_options_months:
                fit += 25
                reasons.append("TERM_OFFERED")
            elif need.term_months <= spec.max_term_months:
                fit += 10
                reasons.append("TERM_WITHIN_MAX")
        if need.repayment_method is not None and need.repayment_method in spec.repayment_methods:
            fit += 20
            reasons.append("METHOD_OFFERED")
        if need.scenario is not None and need.scenario == spec.scenario.value:
            fit += 15
            reasons.append("SCENARIO_MATCH")
        best_rate = min(spec.pricing.values(), default=spec.max_annual_rate)
        match = ProductMatch(code=spec.code, version=spec.version, fit=fit, reasons=tuple(reasons))
        # Ties go to the cheaper product, then the code for a stable order.
        ranked.append((-fit, int(best_rate * 10_000), spec.code, match))
    ranked.sort(key=lambda row: row[:3])
    return [row[3] for row in ranked[:limit]]
