"""Request ids and structured JSON logs: every line carries the request id, tenant and route."""

from __future__ import annotations

import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = [
    "RequestContext",
    "bind_request",
    "configure_logging",
    "current_request_id",
    "new_request_id",
    "request_context",
]

_VALID_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class RequestContext(msgspec.Struct):
    request_id: str = "-"
    tenant_id: str | None = None
    route: str | None = None


_NO_REQUEST = RequestContext()
request_context: ContextVar[RequestContext] = ContextVar("puhui_request", default=_NO_REQUEST)


def new_request_id(incoming: str | None = None) -> str:
    """Accept a caller's well-formed X-Request-ID, else mint one (never echo arbitrary bytes)."""
    if incoming and _VALID_INCOMING_ID.match(incoming):
        return incoming
    return secrets.token_hex(12)


def bind_request(request_id: str, route: str | None = None) -> RequestContext:
    ctx = RequestContext(request_id=request_id, route=route)
    request_context.set(ctx)
    return ctx


def current_request_id() -> str:
    return request_context.get().request_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line; secrets are removed by the redaction filter before this runs."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        ctx = request_context.get()
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": ctx.request_id,
            "tenant_id": ctx.tenant_id,
            "route": ctx.route,
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(doc, enc_hook=str).decode()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    # The redaction filter (JR/T 0171: C2 masked, C3 never logged) guards every line.
    from puhui.security.redaction import RedactingFilter

    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
