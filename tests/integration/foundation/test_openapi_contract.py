"""The committed OpenAPI document is the contract: it matches the app, every operation complete."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar

from puhui.gateway.catalogue import spec_of
from puhui.openapi_export import render_openapi

ROOT = Path(__file__).resolve().parents[3]


def test_committed_openapi_is_not_stale() -> None:
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), (
        "openapi/openapi.json is stale: run `puhui openapi export`"
    )


def test_every_operation_is_complete() -> None:
    import json

    doc = json.loads(render_openapi())
    assert doc["openapi"].startswith("3.1")
    problems = []
    seen_ids: set[str] = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", op.get("operationId", "")):
                problems.append(f"{where}: operationId is not PascalCase")
            if op["operationId"] in seen_ids:
                problems.append(f"{where}: duplicate operationId")
            seen_ids.add(op["operationId"])
            if not op.get("summary") or not op.get("tags"):
                problems.append(f"{where}: summary or tag missing")
            errors = {c for c in op["responses"] if c.startswith(("4", "5"))}
            if not errors:
                problems.append(f"{where}: no error responses declared")
            oauth = op.get("x-puhui-error-format") == "oauth"
            for code in errors:
                content = op["responses"][code].get("content", {})
                if oauth and code in {"400", "401"} and "application/json" in content:
                    continue  # RFC 6749 5.2 error documents on OAuth protocol endpoints
                if "application/problem+json" not in content:
                    problems.append(f"{where}: {code} is not a problem document")
            if "security" not in op:
                problems.append(f"{where}: security requirements not stated")
            if not re.fullmatch(r"OPPHBANK0[12]\d{5}", op.get("x-puhui-api-id", "")):
                problems.append(f"{where}: no JR/T 0185 API id")
            if op.get("x-puhui-level") not in {"A1", "A2"}:
                problems.append(f"{where}: no security level")
    assert problems == []


def test_every_route_declares_itself_in_the_catalogue(app: Litestar) -> None:
    undeclared = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not handler.resolve_include_in_schema():  # OPTIONS, /schema/openapi.json itself
                continue
            if spec_of(handler.opt) is None:
                undeclared.append(f"{sorted(handler.http_methods)} {route.path_format}")
    assert undeclared == []


def test_api_ids_are_unique(app: Litestar) -> None:
    ids = [
        spec.api_id
        for r in app.routes
        for h in getattr(r, "route_handlers", [])
        if (spec := spec_of(h.opt))
    ]
    assert len(ids) == len(set(ids))
