"""Points scaling: turns log-odds into scorecard points (points to double the odds, base score).

score = offset + factor · ln(good:bad odds), factor = PDO / ln 2,
offset = base − factor · ln(base odds); so the score equals `base_score` at `base_odds`
and every `pdo` points double the odds.
"""

from __future__ import annotations

import math

import msgspec

__all__ = ["PointsScaling"]


class PointsScaling(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Scaling of a scorecard: defaults 600 points at 50:1 good:bad odds, 20 points to double."""

    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 50.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pdo) and self.pdo > 0):
            raise ValueError("points to double the odds must be a positive number")
        if not (math.isfinite(self.base_odds) and self.base_odds > 0):
            raise ValueError("base odds must be a positive number")
        if not math.isfinite(self.base_score):
            raise ValueError("base score must be a finite number")

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def score(self, log_odds_bad: float) -> float:
        """Score of an applicant whose model log-odds of being bad is `log_odds_bad`."""
        return self.offset - self.factor * log_odds_bad

    def odds(self, score: float) -> float:
        """Good:bad odds implied by a score."""
        return math.exp((score - self.offset) / self.factor)

    def points(self, coefficient: float, woe: float, intercept: float, n_features: int) -> float:
        """Points of one bin: its share of −factor · (β·WOE) plus an equal share of the base."""
        return (
            -self.factor * (coefficient * woe + intercept / n_features) + self.offset / n_features
        )
