"""Bench-only app factory: the real app plus three probe routes and a roomy rate plan.

Never imported by the platform; uvicorn loads it with `--factory gateway_app:create_bench_app`
from bench/gateway.py. The routes run through the same GatewayPipeline as every API.

With `PUHUI_BENCH_SKIP_AUDIT_COMMIT=1` (bench/gateway.py --skip-audit-commit, an ablation that
is never a result) the audit writer resolves each batch without writing it, so the run shows
what the durable audit commit costs per call; everything else runs as always.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from litestar import Litestar, get, post  # noqa: E402
from litestar.handlers import HTTPRouteHandler  # noqa: E402
from litestar.params import JSONBody  # noqa: E402

from puhui.app import create_app  # noqa: E402
from puhui.audit.writer import AuditWriter  # noqa: E402
from puhui.gateway.catalogue import Level, declare  # noqa: E402
from puhui.gateway.steps import quota  # noqa: E402
from puhui.gateway.steps.quota import TenantPlan  # noqa: E402
from puhui.security.ratelimit import RatePlan  # noqa: E402

__all__ = ["BENCH_PLAN", "create_bench_app"]

BENCH_PLAN = "bench"
_ROOMY = RatePlan("bench", burst=1_000_000, per_second=1_000_000.0, daily_quota=10**9)


PRODUCT: dict[str, Any] = {"product": "scenario-loan", "rate": "0.0365"}


def _product_endpoint(path: str, declaration: dict[str, Any]) -> HTTPRouteHandler:
    """The one endpoint (a), (b) and (c) measure; only its catalogue declaration differs."""

    @get(path, include_in_schema=False, **declaration)
    async def product() -> dict[str, Any]:
        return PRODUCT

    return product


def _probe(level: Level, operation_id: str, sequence: int, summary: str) -> dict[str, Any]:
    return declare(
        operation_id=operation_id,
        summary=summary,
        tag="Bench",
        level=level,
        service="12",
        sequence=sequence,
        audience="client",
    )


# (a) no catalogue entry, so no identity, limits or audit; (b) A1; (c) A2.
BARE = _product_endpoint("/bench/bare", {})
A1 = _product_endpoint(
    "/api/v1/bench/a1", _probe("A1", "BenchProductInformation", 951, "(b) A1 probe")
)
A2 = _product_endpoint(
    "/api/v1/bench/a2", _probe("A2", "BenchAccountInformation", 953, "(c) A2 probe")
)


@post(
    "/api/v1/bench/a2-body",
    status_code=200,
    include_in_schema=False,
    **_probe("A2", "BenchLoanApplication", 952, "(d) A2 probe with a JSON body"),
)
async def a2_with_body(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """(d) an A2 POST whose body Content-Digest covers; reported, not a target."""
    return {"accepted": True, "amount_fen": data.get("amount_fen")}


async def _skip_commit(_writer: AuditWriter, _rows: list[dict[str, Any]], *, sweep: bool) -> bool:
    return False  # the batch's futures resolve as if committed; nothing is written


def create_bench_app() -> Litestar:
    quota.RATE_PLANS[BENCH_PLAN] = TenantPlan(BENCH_PLAN, _ROOMY, _ROOMY, _ROOMY)
    if os.environ.get("PUHUI_BENCH_SKIP_AUDIT_COMMIT") == "1":
        AuditWriter._flush = _skip_commit  # type: ignore[method-assign]
    app = create_app()
    for handler in (BARE, A1, A2, a2_with_body):
        app.register(handler)
    return app
