"""Credit risk: scorecards, probability of default, risk grades and model monitoring metrics.

JR/T 0269 9.2.2 b (scorecard, PD, risk grade) and 6.5.2 b–d (model building, validation, tracking).
"""

__all__: list[str] = []
