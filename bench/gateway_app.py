"""Bench-only app factory: the real app plus three probe routes and a roomy rate plan.

Never imported by the platform; uvicorn loads it with `--factory gateway_app:create_bench_app`
from bench/gateway.py. The routes run through the same GatewayPipeline as every API.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from litestar import Controller, Litestar, get, post  # noqa: E402
from litestar.params import JSONBody  # noqa: E402

from puhui.app import create_app  # noqa: E402
from puhui.gateway.catalogue import declare  # noqa: E402
from puhui.gateway.steps import quota  # noqa: E402
from puhui.gateway.steps.quota import TenantPlan  # noqa: E402
from puhui.security.ratelimit import RatePlan  # noqa: E402

__all__ = ["BENCH_PLAN", "create_bench_app"]

BENCH_PLAN = "bench"
_ROOMY = RatePlan("bench", burst=1_000_000, per_second=1_000_000.0, daily_quota=10**9)


class BareController(Controller):
    """(a) the bare endpoint: no catalogue entry, so no identity, limits or audit."""

    path = "/bench"

    @get("/bare", include_in_schema=False)
    async def bare(self) -> dict[str, Any]:
        return {"product": "scenario-loan", "rate": "0.0365"}


class ProbeController(Controller):
    path = "/api/v1/bench"

    @get(
        "/a1",
        include_in_schema=False,
        **declare(
            operation_id="BenchProductInformation",
            summary="(b) A1 probe",
            tag="Bench",
            level="A1",
            service="12",
            sequence=951,
            audience="client",
        ),
    )
    async def a1(self) -> dict[str, Any]:
        return {"product": "scenario-loan", "rate": "0.0365"}

    @post(
        "/a2",
        status_code=200,
        include_in_schema=False,
        **declare(
            operation_id="BenchLoanApplication",
            summary="(c) A2 probe",
            tag="Bench",
            level="A2",
            service="12",
            sequence=952,
            audience="client",
        ),
    )
    async def a2(self, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        return {"accepted": True, "amount_fen": data.get("amount_fen")}


def create_bench_app() -> Litestar:
    quota.RATE_PLANS[BENCH_PLAN] = TenantPlan(BENCH_PLAN, _ROOMY, _ROOMY, _ROOMY)
    app = create_app()
    app.register(BareController)
    app.register(ProbeController)
    return app
