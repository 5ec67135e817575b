"""The machinery every upstream simulator shares: auth, cursor pagination and fault injection.

A simulator is a real Litestar ASGI app serving seeded persona data the way a partner's
API would, warts included, so the sandbox and the tests exercise the real HTTP path.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from connectors.spec import AuthKind

__all__ = [
    "FaultPlan",
    "SimulatorControl",
    "UpstreamTable",
    "build_simulator_app",
    "decode_cursor",
]

Row = dict[str, Any]
UpstreamTable = Mapping[str, Mapping[str, Sequence[Row]]]
"""Upstream data: stream route name → USCC → rows; each row has an ordering ``_key``."""

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_MALFORMED = b'{"items": [{"id": "truncated'
MAX_PAGE = 200


class FaultPlan(msgspec.Struct, kw_only=True):
    """Faults to inject; a count of -1 means every request until the plan is replaced."""

    fail_next: int = 0
    fail_status: int = 503
    retry_after_s: int | None = None
    malformed_next: int = 0
    slow_next: int = 0
    slow_s: float = 0.0


class SimulatorControl:
    """Fault plan and request counters of one running simulator."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.faults = faults or FaultPlan()
        self.requests: Counter[str] = Counter()

    @staticmethod
    def _take(count: int) -> tuple[bool, int]:
        if count == 0:
            return False, 0
        return True, count if count < 0 else count - 1

    async def apply(self, path: str) -> Response[bytes] | None:
        """Count the request and, if the plan says so, delay it, fail it or garble it."""
        self.requests[path] += 1
        plan = self.faults
        slow, plan.slow_next = self._take(plan.slow_next)
        if slow:
            await asyncio.sleep(plan.slow_s)
        fail, plan.fail_next = self._take(plan.fail_next)
        if fail:
            headers = {} if plan.retry_after_s is None else {"retry-after": str(plan.retry_after_s)}
            return Response(
                b'{"error": "upstream unavailable"}',
                status_code=plan.fail_status,
                headers=headers,
                media_type="application/json",
            )
        garble, plan.malformed_next = self._take(plan.malformed_next)
        if garble:
            return Response(_MALFORMED, status_code=200, media_type="application/json")
        return None


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


def _page(rows: Sequence[Row], after: str | None, limit: int) -> bytes:
    ordered = sorted(rows, key=lambda r: str(r["_key"]))
    after_key = decode_cursor(after) if after else None
    remaining = [r for r in ordered if after_key is None or str(r["_key"]) > after_key]
    page = remaining[:limit]
    items = [{k: v for k, v in r.items() if k != "_key"} for r in page]
    cursor = _cursor(str(page[-1]["_key"])) if page else after
    return _ENCODER.encode({"items": items, "cursor": cursor, "has_more": len(remaining) > limit})


def build_simulator_app(
    *,
    title: str,
    table: UpstreamTable,
    auth_kind: AuthKind,
    credential: str,
    control: SimulatorControl,
) -> Litestar:
    """A Litestar app serving ``table`` at ``/v1/enterprises/{uscc}/{stream}`` with cursor pages."""

    def authorised(request: Request[Any, Any, State]) -> bool:
        if auth_kind is AuthKind.API_KEY:
            presented = request.headers.get("x-api-key", "")
        else:
            header = request.headers.get("authorization", "")
            presented = header[7:] if header.lower().startswith("bearer ") else ""
        return hmac.compare_digest(presented.encode(), credential.encode())

    async def before_request(request: Request[Any, Any, State]) -> Response[bytes] | None:
        if not authorised(request):
            return Response(
                b'{"error": "unauthorised"}', status_code=401, media_type="application/json"
            )
        if request.url.path.startswith("/_control"):
            return None
        return await control.apply(request.url.path)

    @get("/v1/health", sync_to_thread=False)
    def health() -> Response[bytes]:
        return Response(
            _ENCODER.encode({"status": "ok", "service": title}), media_type="application/json"
        )

    @get("/v1/enterprises/{uscc:str}/{stream:str}", sync_to_thread=False)
    def rows(
        uscc: FromPath[str],
        stream: FromPath[str],
        after: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Response[bytes]:
        by_subject = table.get(stream)
        if by_subject is None:
            return Response(
                b'{"error": "unknown stream"}', status_code=404, media_type="application/json"
            )
        body = _page(by_subject.get(uscc, ()), after, max(1, min(limit, MAX_PAGE)))
        return Response(body, media_type="application/json")

    @put("/_control/faults", sync_to_thread=False, status_code=200)
    def set_faults(data: JSONBody[FaultPlan]) -> Response[bytes]:
        control.faults = data
        return Response(_ENCODER.encode(data), media_type="application/json")

    @get("/_control/stats", sync_to_thread=False)
    def stats() -> Response[bytes]:
        return Response(
            _ENCODER.encode({"requests": dict(control.requests)}), media_type="application/json"
        )

    return Litestar(
        route_handlers=[health, rows, set_faults, stats],
        before_request=before_request,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
