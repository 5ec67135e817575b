"""Weight-of-evidence binning: monotonic numeric bins, pooled categorical bins, a missing bin.

WOE = ln(share of goods / share of bads) per bin, with Laplace smoothing so a bin without goods or
bads keeps a finite WOE; IV = Σ (share of goods − share of bads) · WOE. JR/T 0269 6.5.2 b
(grouping and variable construction).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from puhui.risk.scorecard.dataset import CategoricalColumn, Column, NumericColumn

__all__ = [
    "Bin",
    "BinningPolicy",
    "FeatureBinning",
    "bin_feature",
    "format_bound",
    "woe_iv",
]

FeatureKind = Literal["numeric", "categorical"]
IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]
MISSING_LABEL: Final = "missing"


@dataclass(frozen=True, slots=True)
class BinningPolicy:
    """How finely to bin: quantile pre-bins, the smallest bin share, the most bins, smoothing."""

    pre_bins: int = 20
    min_bin_share: float = 0.05
    max_bins: int = 8
    smoothing: float = 0.5


@dataclass(frozen=True, slots=True)
class Bin:
    """One bin of a feature with its development counts and WOE.

    Numeric bins cover (lower, upper] (None = unbounded); categorical bins list their categories.
    """

    label: str
    count: int
    bads: int
    woe: float
    lower: float | None = None
    upper: float | None = None
    categories: tuple[str, ...] = ()
    is_missing: bool = False
    is_other: bool = False

    @property
    def bad_rate(self) -> float:
        return self.bads / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class FeatureBinning:
    """The bins of one feature, able to place any value (missing or unseen) in exactly one bin.

    A missing value with no missing bin in development, and an unseen category with no pooled
    'other' bin, fall into the most adverse bin: the conservative choice for a lender.
    """

    name: str
    kind: FeatureKind
    bins: tuple[Bin, ...]
    iv: float
    cuts: tuple[float, ...] = ()
    missing_bin: int = 0
    unseen_bin: int = 0

    def category_bins(self) -> dict[str | None, int]:
        lookup: dict[str | None, int] = {None: self.missing_bin}
        for index, entry in enumerate(self.bins):
            for category in entry.categories:
                lookup[category] = index
        return lookup

    def assign(self, column: Column) -> IntArray:
        """The bin index of every value of `column`."""
        if isinstance(column, NumericColumn):
            values = column.values
            index = np.searchsorted(np.asarray(self.cuts, dtype=np.float64), values, side="left")
            return np.where(np.isnan(values), self.missing_bin, index).astype(np.intp)
        lookup = self.category_bins()
        unseen = self.unseen_bin
        return np.fromiter(
            (lookup.get(value, unseen) for value in column.values),
            dtype=np.intp,
            count=column.values.shape[0],
        )

    def woe(self, column: Column) -> FloatArray:
        table = np.array([entry.woe for entry in self.bins], dtype=np.float64)
        return table[self.assign(column)]


def woe_iv(
    goods: Sequence[int] | npt.NDArray[np.int64],
    bads: Sequence[int] | npt.NDArray[np.int64],
    smoothing: float = 0.5,
) -> tuple[FloatArray, float]:
    """WOE per bin and the feature's IV, Laplace-smoothed by `smoothing` per bin."""
    good = np.asarray(goods, dtype=np.float64)
    bad = np.asarray(bads, dtype=np.float64)
    k = good.shape[0]
    good_share = (good + smoothing) / (good.sum() + k * smoothing)
    bad_share = (bad + smoothing) / (bad.sum() + k * smoothing)
    woe = np.log(good_share / bad_share)
    return woe, float(np.sum((good_share - bad_share) * woe))


@dataclass(slots=True)
class _Block:
    """A run of pre-bins (numeric) or a group of categories being merged."""

    count: int
    bads: int
    members: list[int]

    @property
    def rate(self) -> float:
        return self.bads / self.count if self.count else 0.0

    def absorb(self, other: _Block) -> _Block:
        return _Block(
            self.count + other.count, self.bads + other.bads, self.members + other.members
        )


def bin_feature(
    column: Column, bad: npt.NDArray[np.int8], policy: BinningPolicy | None = None
) -> FeatureBinning:
    """Bin one feature on development data and compute its WOE and IV."""
    policy = policy or BinningPolicy()
    if isinstance(column, NumericColumn):
        return _bin_numeric(column, bad, policy)
    return _bin_categorical(column, bad, policy)


def _bin_numeric(
    column: NumericColumn, bad: npt.NDArray[np.int8], policy: BinningPolicy
) -> FeatureBinning:
    values = column.values
    present = ~np.isnan(values)
    x, y = values[present], bad[present].astype(np.int64)
    n_total = values.shape[0]
    cuts = _quantile_cuts(x, policy.pre_bins)
    index = np.searchsorted(cuts, x, side="left")
    counts = np.bincount(index, minlength=cuts.shape[0] + 1)
    bads = np.bincount(index, weights=y, minlength=cuts.shape[0] + 1).astype(np.int64)
    blocks = [
        _Block(int(c), int(b), [i]) for i, (c, b) in enumerate(zip(counts, bads, strict=True)) if c
    ]
    missing_count = int((~present).sum())
    missing_bads = int(bad[~present].sum())
    candidates = []
    # Bad rate must move one way across the range; keep the direction that separates better.
    for increasing in (True, False):
        merged = _merge_monotonic(list(blocks), increasing=increasing)
        merged = _merge_small(merged, min_count=policy.min_bin_share * n_total)
        merged = _merge_closest(merged, max_bins=policy.max_bins)
        candidates.append((_iv_of(merged, missing_count, missing_bads, policy.smoothing), merged))
    best = candidates[1][1] if candidates[1][0] > candidates[0][0] + 1e-12 else candidates[0][1]
    block_cuts = [float(cuts[block.members[-1]]) for block in best[:-1]]
    bins: list[Bin] = []
    for position, block in enumerate(best):
        lower = block_cuts[position - 1] if position > 0 else None
        upper = block_cuts[position] if position < len(block_cuts) else None
        bins.append(
            Bin(_range_label(lower, upper), block.count, block.bads, 0.0, lower=lower, upper=upper)
        )
    return _finish(column.name, "numeric", bins, missing_count, missing_bads, policy, block_cuts)


def _bin_categorical(
    column: CategoricalColumn, bad: npt.NDArray[np.int8], policy: BinningPolicy
) -> FeatureBinning:
    n_total = column.values.shape[0]
    counts: dict[str, list[int]] = {}
    missing_count = missing_bads = 0
    for value, outcome in zip(column.values.tolist(), bad.tolist(), strict=True):
        if value is None:
            missing_count += 1
            missing_bads += outcome
            continue
        tally = counts.setdefault(value, [0, 0])
        tally[0] += 1
        tally[1] += outcome
    categories = sorted(counts)
    min_count = policy.min_bin_share * n_total
    # Rare categories are pooled first: their own bad rates are too noisy to rank on.
    rare = [i for i, name in enumerate(categories) if counts[name][0] < min_count]
    blocks = [
        _Block(counts[name][0], counts[name][1], [i])
        for i, name in enumerate(categories)
        if i not in set(rare)
    ]
    other: _Block | None = None
    if rare:
        other = _Block(
            sum(counts[categories[i]][0] for i in rare),
            sum(counts[categories[i]][1] for i in rare),
            list(rare),
        )
        blocks.append(other)
    blocks.sort(key=lambda block: (block.rate, min(block.members)))
    blocks = _merge_small(blocks, min_count=min_count)
    blocks = _merge_closest(blocks, max_bins=policy.max_bins)
    bins: list[Bin] = []
    rare_set = set(rare)
    for block in blocks:
        names = tuple(sorted(categories[i] for i in block.members))
        holds_other = bool(rare_set & set(block.members))
        bins.append(
            Bin(
                _category_label(names, holds_other),
                block.count,
                block.bads,
                0.0,
                categories=names,
                is_other=holds_other,
            )
        )
    return _finish(column.name, "categorical", bins, missing_count, missing_bads, policy, [])


def _finish(
    name: str,
    kind: FeatureKind,
    bins: list[Bin],
    missing_count: int,
    missing_bads: int,
    policy: BinningPolicy,
    cuts: list[float],
) -> FeatureBinning:
    if missing_count:
        bins.append(Bin(MISSING_LABEL, missing_count, missing_bads, 0.0, is_missing=True))
    goods = [entry.count - entry.bads for entry in bins]
    woe, iv = woe_iv(goods, [entry.bads for entry in bins], policy.smoothing)
    final = tuple(
        Bin(
            entry.label,
            entry.count,
            entry.bads,
            float(value),
            lower=entry.lower,
            upper=entry.upper,
            categories=entry.categories,
            is_missing=entry.is_missing,
            is_other=entry.is_other,
        )
        for entry, value in zip(bins, woe, strict=True)
    )
    most_adverse = int(np.argmin(woe))
    missing_bin = len(final) - 1 if missing_count else most_adverse
    other = [i for i, entry in enumerate(final) if entry.is_other]
    unseen_bin = other[0] if other else most_adverse
    return FeatureBinning(
        name=name,
        kind=kind,
        bins=final,
        iv=iv,
        cuts=tuple(cuts),
        missing_bin=missing_bin,
        unseen_bin=unseen_bin,
    )


def _quantile_cuts(x: FloatArray, pre_bins: int) -> FloatArray:
    if x.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, pre_bins + 1)[1:-1]
    cuts: FloatArray = np.unique(np.quantile(x, levels, method="inverted_cdf"))
    below_max: FloatArray = cuts[cuts < x.max()]
    return below_max


def _merge_monotonic(blocks: list[_Block], *, increasing: bool) -> list[_Block]:
    """Pool adjacent violators until bad rates rise (or fall) strictly from bin to bin."""
    stack: list[_Block] = []
    for block in blocks:
        stack.append(block)
        while len(stack) >= 2 and (
            stack[-2].rate >= stack[-1].rate if increasing else stack[-2].rate <= stack[-1].rate
        ):
            right = stack.pop()
            stack[-1] = stack[-1].absorb(right)
    return stack


def _merge_small(blocks: list[_Block], *, min_count: float) -> list[_Block]:
    """Merge each too-small bin into the neighbour whose bad rate is closer."""
    blocks = list(blocks)
    while len(blocks) > 1:
        smallest = min(range(len(blocks)), key=lambda i: (blocks[i].count, i))
        if blocks[smallest].count >= min_count:
            break
        if smallest == 0:
            partner = 1
        elif smallest == len(blocks) - 1:
            partner = smallest - 1
        else:
            left = abs(blocks[smallest - 1].rate - blocks[smallest].rate)
            right = abs(blocks[smallest + 1].rate - blocks[smallest].rate)
            partner = smallest - 1 if left <= right else smallest + 1
        first = min(smallest, partner)
        blocks[first : first + 2] = [blocks[first].absorb(blocks[first + 1])]
    return blocks


def _merge_closest(blocks: list[_Block], *, max_bins: int) -> list[_Block]:
    """Merge the adjacent pair with the closest bad rates until at most `max_bins` remain."""
    blocks = list(blocks)
    while len(blocks) > max(max_bins, 1):
        gaps = [abs(blocks[i + 1].rate - blocks[i].rate) for i in range(len(blocks) - 1)]
        first = int(np.argmin(gaps))
        blocks[first : first + 2] = [blocks[first].absorb(blocks[first + 1])]
    return blocks


def _iv_of(blocks: list[_Block], missing_count: int, missing_bads: int, smoothing: float) -> float:
    counts = [block.count for block in blocks] + ([missing_count] if missing_count else [])
    bads = [block.bads for block in blocks] + ([missing_bads] if missing_count else [])
    goods = [c - b for c, b in zip(counts, bads, strict=True)]
    return woe_iv(goods, bads, smoothing)[1]


def format_bound(value: float) -> str:
    """A bound as an analyst reads it: up to 6 significant digits, no float noise."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _range_label(lower: float | None, upper: float | None) -> str:
    low = "-inf" if lower is None else format_bound(lower)
    high = "+inf" if upper is None else format_bound(upper)
    closing = ")" if upper is None else "]"
    return f"({low}, {high}{closing}"


def _category_label(names: tuple[str, ...], holds_other: bool) -> str:
    shown = ", ".join(names[:4]) + (f", … (+{len(names) - 4})" if len(names) > 4 else "")
    return f"other (rare): {shown}" if holds_other else shown
