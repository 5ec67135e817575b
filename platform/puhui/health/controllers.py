"""``/health/live`` answers while the process runs; ``/health/ready`` checks database and Redis."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, get
from sqlalchemy import text

from puhui.gateway.catalogue import declare

__all__ = ["HealthController"]


class Check(msgspec.Struct, frozen=True):
    name: str
    ok: bool


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok", "unavailable"]
    checks: list[Check]


class HealthController(Controller):
    path = "/health"

    @get(
        "/live",
        **declare(
            operation_id="Live",
            summary="Liveness probe",
            tag="Health",
            level="A1",
            service="99",
            sequence=1,
            audience="public",
            audited=False,
        ),
    )
    async def live(self) -> Health:
        return Health(status="ok", checks=[])

    @get(
        "/ready",
        **declare(
            operation_id="Ready",
            summary="Readiness probe (database, Redis)",
            tag="Health",
            level="A1",
            service="99",
            sequence=2,
            audience="public",
            audited=False,
            errors=(503,),
        ),
    )
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Health]:
        state = request.app.state
        checks = [Check("database", await _database_ok(state))]
        if state.redis is not None:
            checks.append(Check("redis", await _redis_ok(state.redis)))
        ok = all(c.ok for c in checks)
        return Response(
            Health(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
        )


async def _database_ok(state: Any) -> bool:
    try:
        async with state.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _redis_ok(redis: Any) -> bool:
    try:
        return bool(await redis.ping())
    except Exception:
        return False
