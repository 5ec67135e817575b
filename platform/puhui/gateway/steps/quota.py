"""Step 8, rate limit and quota: token bucket plus daily/monthly quotas, per client, per tenant
and per API, sized by the tenant's plan (data below); public routes are limited per IP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from puhui.errors import ProblemError
from puhui.gateway.catalogue import ApiSpec
from puhui.gateway.steps.problems import QUOTA_EXHAUSTED, RATE_LIMITED
from puhui.security.ratelimit import Decision, RateLimiter, RatePlan

__all__ = ["PUBLIC_PLAN", "RATE_PLANS", "TenantPlan", "admit", "admit_public", "plan_named"]


@dataclass(frozen=True, slots=True)
class TenantPlan:
    """One commercial plan: limits for each client, for the whole tenant, and per API."""

    name: str
    client: RatePlan
    tenant: RatePlan
    per_api: RatePlan


def _plan(name: str, burst: int, rate: float, daily: int, monthly: int) -> TenantPlan:
    return TenantPlan(
        name=name,
        client=RatePlan(f"{name}-client", burst, rate, daily, monthly),
        tenant=RatePlan(f"{name}-tenant", burst * 4, rate * 4, daily * 4, monthly * 4),
        per_api=RatePlan(f"{name}-api", burst, rate, daily, monthly),
    )


RATE_PLANS: Final[dict[str, TenantPlan]] = {
    "sandbox": _plan("sandbox", burst=20, rate=10.0, daily=10_000, monthly=100_000),
    "standard": _plan("standard", burst=100, rate=50.0, daily=500_000, monthly=10_000_000),
    "premium": _plan("premium", burst=500, rate=250.0, daily=5_000_000, monthly=100_000_000),
}
# Generous: it stops floods from one address; credential guessing is stopped by login lockout.
PUBLIC_PLAN: Final = RatePlan("public-ip", burst=600, per_second=200.0)


def plan_named(name: str) -> TenantPlan:
    """An unknown plan name falls back to the smallest plan, never to no limit."""
    return RATE_PLANS.get(name, RATE_PLANS["sandbox"])


def _refuse(decision: Decision) -> ProblemError:
    limit = decision.ratelimit_header.split(";", 1)[0].strip('"')
    headers = {
        "Retry-After": str(decision.retry_after),
        "RateLimit-Policy": decision.policy_header,
        "RateLimit": decision.ratelimit_header,
    }
    kind = QUOTA_EXHAUSTED if limit in {"daily", "monthly"} else RATE_LIMITED
    return ProblemError(problem=kind, headers=headers)


_KEYS_MAX: Final = 10_000
_keys: dict[tuple[str, uuid.UUID, str], tuple[str, str, str]] = {}


def _limit_keys(client_id: str, tenant_id: uuid.UUID, api_id: str) -> tuple[str, str, str]:
    """The client, tenant and per-API limiter keys, formatted once per caller and API."""
    ids = (client_id, tenant_id, api_id)
    keys = _keys.get(ids)
    if keys is None:
        if len(_keys) >= _KEYS_MAX:
            _keys.clear()
        keys = _keys[ids] = (f"c:{client_id}", f"t:{tenant_id}", f"a:{client_id}:{api_id}")
    return keys


async def admit(
    limiter: RateLimiter,
    spec: ApiSpec,
    plan: TenantPlan,
    tenant_id: uuid.UUID,
    client_id: str,
) -> Decision:
    """Charge one call to the client, its tenant and the API; the tightest decision is returned."""
    client_key, tenant_key, api_key = _limit_keys(client_id, tenant_id, spec.api_id)
    decision = await limiter.check_all(
        ((client_key, plan.client), (tenant_key, plan.tenant), (api_key, plan.per_api))
    )
    if not decision.allowed:
        raise _refuse(decision)
    return decision


async def admit_public(limiter: RateLimiter, address: str) -> Decision:
    """Public routes (no caller identity) are limited per source address."""
    decision = await limiter.check(f"ip:{address}", PUBLIC_PLAN)
    if not decision.allowed:
        raise _refuse(decision)
    return decision
