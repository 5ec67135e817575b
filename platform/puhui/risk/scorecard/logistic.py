"""L2-regularised logistic regression fitted by Newton–Raphson (IRLS) in numpy.

The intercept is not penalised. Convergence is declared when the largest coefficient step falls
below `tolerance`; a fit that does not converge raises rather than ship an unfinished model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from puhui.risk.scorecard.errors import ScorecardError

__all__ = ["LogisticFit", "fit_logistic", "sigmoid"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LogisticFit:
    """Fitted intercept and coefficients, with how the fit went."""

    intercept: float
    coefficients: FloatArray
    iterations: int
    converged: bool
    penalised_log_likelihood: float


def sigmoid(z: FloatArray) -> FloatArray:
    """1 / (1 + e^-z), computed without overflow for large |z|."""
    out: FloatArray = np.empty_like(z, dtype=np.float64)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


def fit_logistic(
    x: FloatArray,
    y: npt.NDArray[np.int8] | FloatArray,
    *,
    l2: float = 1.0,
    tolerance: float = 1e-8,
    max_iterations: int = 100,
) -> LogisticFit:
    """Fit P(y=1) = sigmoid(b0 + x·b) maximising log-likelihood − l2/2 · ||b||²."""
    n, k = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    target = np.asarray(y, dtype=np.float64)
    penalty = np.full(k + 1, l2, dtype=np.float64)
    penalty[0] = 0.0
    rate = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))
    beta = np.zeros(k + 1)
    beta[0] = np.log(rate / (1 - rate))
    objective = _objective(design, target, beta, penalty)
    for iteration in range(1, max_iterations + 1):
        p = sigmoid(design @ beta)
        gradient = design.T @ (target - p) - penalty * beta
        weights = np.maximum(p * (1 - p), 1e-12)
        hessian = (design * weights[:, None]).T @ design + np.diag(penalty)
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError as exc:
            raise ScorecardError(
                "the logistic regression is singular; features are perfectly collinear"
            ) from exc
        # Step halving keeps every iteration an improvement (Newton can overshoot far from optimum).
        scale = 1.0
        candidate = beta + step
        new_objective = _objective(design, target, candidate, penalty)
        while new_objective < objective - 1e-12 and scale > 1e-6:
            scale /= 2
            candidate = beta + scale * step
            new_objective = _objective(design, target, candidate, penalty)
        beta, objective = candidate, new_objective
        if float(np.max(np.abs(scale * step))) < tolerance:
            return LogisticFit(float(beta[0]), beta[1:].copy(), iteration, True, objective)
    raise ScorecardError(
        f"the logistic regression did not converge in {max_iterations} iterations; "
        "raise the L2 penalty or remove near-duplicate features"
    )


def _objective(
    design: FloatArray, target: FloatArray, beta: FloatArray, penalty: FloatArray
) -> float:
    z = design @ beta
    # log-likelihood Σ y·z − log(1 + e^z), stable via logaddexp.
    log_likelihood = float(np.sum(target * z - np.logaddexp(0.0, z)))
    return log_likelihood - 0.5 * float(np.sum(penalty * beta * beta))
