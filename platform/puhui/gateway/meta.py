"""What the gateway says about itself: OpenAPI contract, API catalogue, problem types."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Litestar, Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.params import FromPath

from puhui.errors import PROBLEM_TYPES, Problem
from puhui.gateway.catalogue import declare, spec_of

__all__ = [
    "CatalogueEntry",
    "ContractRenderPlugin",
    "MetaController",
    "api_catalogue",
    "openapi_document",
]


class CatalogueEntry(msgspec.Struct, frozen=True):
    operation_id: str
    api_id: str
    level: str
    method: str
    path: str
    audience: str
    scopes: list[str]
    field_classes: dict[str, str]


def api_catalogue(app: Litestar) -> list[CatalogueEntry]:
    entries: list[CatalogueEntry] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            spec = spec_of(handler.opt)
            if spec is None:
                continue
            for method in sorted(handler.http_methods):
                entries.append(
                    CatalogueEntry(
                        operation_id=spec.operation_id,
                        api_id=spec.api_id,
                        level=spec.level,
                        method=method,
                        path=route.path_format,
                        audience=spec.audience,
                        scopes=sorted(spec.scopes),
                        field_classes={k: v[0] for k, v in spec.fields.items()},
                    )
                )
    return sorted(entries, key=lambda e: (e.path, e.method))


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI 3.1 contract with ``x-puhui-*`` catalogue extensions (the committed file)."""
    doc: dict[str, Any] = app.openapi_schema.to_schema()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            spec = spec_of(handler.opt)
            if spec is None:
                continue
            for method in handler.http_methods:
                op = doc.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if op is None:
                    continue
                op["x-puhui-api-id"] = spec.api_id
                op["x-puhui-level"] = spec.level
                op["x-puhui-audience"] = spec.audience
                op["x-puhui-scopes"] = sorted(spec.scopes)
                if spec.oauth_errors:
                    # Malformed bodies are refused by the framework as problem documents before
                    # the OAuth endpoint runs, so a 400 can be either format.
                    op["x-puhui-error-format"] = "oauth"
                    bad = op.get("responses", {}).get("400", {}).setdefault("content", {})
                    bad["application/problem+json"] = {
                        "schema": {"$ref": "#/components/schemas/ProblemDocument"}
                    }
                if spec.audience == "public":
                    op["security"] = []  # stated explicitly: no credentials needed
                if spec.fields:
                    op["x-puhui-field-classes"] = {
                        k: {"class": c, "kind": kind} for k, (c, kind) in spec.fields.items()
                    }
    return doc


class ContractRenderPlugin(JsonRenderPlugin):
    """Serves the contract: the committed file's document, catalogue extensions included."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        cached: bytes | None = request.app.state.get("openapi_bytes")
        if cached is None:
            cached = msgspec.json.encode(openapi_document(request.app))
            request.app.state.openapi_bytes = cached
        return cached


class ProblemTypeRead(msgspec.Struct, frozen=True):
    type: str
    title: str
    status: int
    description: str


class MetaController(Controller):
    path = "/"

    @get(
        "/api/v1/catalogue",
        **declare(
            operation_id="GetApiCatalogue",
            summary="The API catalogue (JR/T 0185 ids, levels, scopes)",
            tag="Catalogue",
            level="A1",
            service="00",
            sequence=1,
            audience="public",
            audited=False,
        ),
    )
    async def catalogue(self, request: Request[Any, Any, Any]) -> list[CatalogueEntry]:
        return api_catalogue(request.app)

    @get(
        "/problems/{slug:str}",
        **declare(
            operation_id="GetProblemType",
            summary="What a problem type means",
            tag="Catalogue",
            level="A1",
            service="00",
            sequence=2,
            audience="public",
            audited=False,
            errors=(404,),
        ),
    )
    async def problem_type(
        self, request: Request[Any, Any, Any], slug: FromPath[str]
    ) -> ProblemTypeRead:
        problem: Problem | None = PROBLEM_TYPES.get(slug)
        if problem is None:
            raise NotFoundException()
        issuer = request.app.state.settings.issuer
        return ProblemTypeRead(
            type=f"{issuer}/problems/{slug}",
            title=problem.title,
            status=problem.status,
            description=problem.description,
        )
