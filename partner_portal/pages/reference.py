"""The API reference (rendered from the OpenAPI contract with each API's JR/T 0185 id and security
level) and the "try it" console that calls the sandbox through the server-side proxy."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from litestar import Controller, Request, Response, get, post

from partner_portal.declare import BUILDERS, portal_page
from partner_portal.forms import field_errors, first, read_form
from partner_portal.redoc import SelfHostedRedoc, redoc_policy
from partner_portal.rendering import page
from partner_portal.sandbox_proxy import call_sandbox, path_parameters, tryable_operations
from puhui.deps import Db, Subject
from puhui.errors import ProblemError
from puhui.gateway.meta import openapi_document

__all__ = ["ReferencePages", "reference_sections"]

_METHODS = ("get", "post", "put", "patch", "delete")
_REDOC = SelfHostedRedoc()


def _schema_name(ref: Any) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("$ref"), str):
        return str(ref["$ref"]).rsplit("/", 1)[-1]
    return None


def _first_schema(content: dict[str, Any]) -> Any:
    for media in content.values():
        if isinstance(media, dict):
            return media.get("schema")
    return None


def reference_sections(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Operations grouped by tag, in path order, with what a partner needs to call each one."""
    sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path, item in sorted(doc.get("paths", {}).items()):
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict) or "x-puhui-api-id" not in op:
                continue
            body: dict[str, Any] = (op.get("requestBody") or {}).get("content", {})
            body_schema = _first_schema(body)
            ok: dict[str, Any] = next(
                (r for code, r in op.get("responses", {}).items() if code.startswith("2")), {}
            )
            ok_content: dict[str, Any] = (ok or {}).get("content", {})
            ok_schema = _first_schema(ok_content)
            sections[(op.get("tags") or ["Other"])[0]].append(
                {
                    "method": method.upper(),
                    "path": path,
                    "operation_id": op.get("operationId", ""),
                    "summary": op.get("summary", ""),
                    "description": op.get("description") or "",
                    "api_id": op["x-puhui-api-id"],
                    "level": op.get("x-puhui-level", ""),
                    "audience": op.get("x-puhui-audience", ""),
                    "scopes": op.get("x-puhui-scopes", []),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": bool(p.get("required")),
                        }
                        for p in op.get("parameters", [])
                        if isinstance(p, dict)
                    ],
                    "request_schema": _schema_name(body_schema),
                    "response_schema": _schema_name(ok_schema)
                    or _schema_name(
                        (ok_schema or {}).get("items") if isinstance(ok_schema, dict) else None
                    ),
                    "errors": sorted(c for c in op.get("responses", {}) if not c.startswith("2")),
                    "fields": op.get("x-puhui-field-classes", {}),
                }
            )
    return sorted(sections.items())


class ReferencePages(Controller):
    path = "/portal"

    @get("/reference", **portal_page("ApiReferencePage", "API reference", 40, audience="public"))
    async def reference(self, request: Request[Any, Any, Any]) -> Response[Any]:
        cached = request.app.state.get("portal_reference")
        if cached is None:
            cached = reference_sections(openapi_document(request.app))
            request.app.state.portal_reference = cached
        return page(request, "reference/index.html", sections=cached)

    @get(
        "/reference/redoc",
        **portal_page(
            "ApiReferenceRedocPage", "Interactive API reference (ReDoc)", 46, audience="public"
        ),
    )
    async def redoc(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        body = _REDOC.render(request, openapi_document(request.app))
        return Response(
            body, media_type="text/html", headers={"content-security-policy": redoc_policy()}
        )

    @get("/try-it", **portal_page("TryItPage", "Try an API in the sandbox", 41, roles=BUILDERS))
    async def try_it_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return self._form(request, values={}, errors={}, call=None)

    def _form(
        self,
        request: Request[Any, Any, Any],
        *,
        values: dict[str, str],
        errors: dict[str, str],
        call: Any,
        status: int = 200,
    ) -> Response[Any]:
        operations = [(e, path_parameters(e)) for e in tryable_operations(request.app)]
        template = (
            "reference/try_result.html"
            if request.headers.get("hx-request")
            else "reference/try_it.html"
        )
        return page(
            request,
            template,
            status_code=status,
            operations=operations,
            values=values,
            errors=errors,
            call=call,
            sandbox=request.app.state.settings.sandbox,
        )

    @post(
        "/try-it",
        **portal_page(
            "TryItCall", "Call the sandbox through the portal", 42, roles=BUILDERS, write=True
        ),
    )
    async def try_it(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        form = await read_form(request)
        operation, _, method = first(form, "operation", 120).partition(" ")
        values = {k: v[0] for k, v in form.items() if k != "_csrf"}
        path_values = {k[5:]: v[0] for k, v in form.items() if k.startswith("path.")}
        try:
            call = await call_sandbox(
                request.app,
                db,
                subject,
                operation_id=operation,
                method=method,
                path_values=path_values,
                query=first(form, "query", 1000),
                body=first(form, "body", 64_000),
            )
        except ProblemError as exc:
            if exc.kind.status not in {404, 409, 422}:
                raise
            return self._form(
                request, values=values, errors=field_errors(exc), call=None, status=exc.kind.status
            )
        return self._form(request, values=values, errors={}, call=call)
