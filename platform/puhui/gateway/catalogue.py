"""The API catalogue: each route declares, beside its handler, what it is and who may call.

``declare(...)`` returns the keyword arguments for a Litestar route decorator: operationId, summary,
tag, documented error responses, security requirements, and an ``ApiSpec`` in ``opt["api"]`` that
the pipeline enforces and the OpenAPI export publishes as ``x-puhui-*`` extensions.
JR/T 0185-2020 API ids: ``OP`` + 6-character bank code + level (01 = A1, 02 = A2) + service class
(2 digits) + sequence (3 digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from puhui.errors import ProblemDocument

__all__ = [
    "ApiSpec",
    "Audience",
    "FieldClass",
    "Level",
    "OAuthErrorDocument",
    "api_id",
    "declare",
    "spec_of",
]

Level = Literal["A1", "A2"]
Audience = Literal["public", "member", "operator", "client", "customer"]
FieldClass = Literal["C1", "C2", "C3"]

_OPERATION_ID = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_SERVICE = re.compile(r"^\d{2}$")
_BANK_CODE = "PHBANK"  # matches Settings.bank_code default; ids are stable across deployments


class ApiSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway needs to know about one operation."""

    operation_id: str
    api_id: str
    level: Level
    audience: Audience
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    # Name of the tenant-owned resource a path parameter addresses (drives the isolation matrix).
    resource: str | None = None
    # Response field classification (JSON path -> class, kind), JR/T 0171-2020.
    fields: Mapping[str, tuple[FieldClass, str]] = msgspec.field(default_factory=dict)
    audited: bool = True
    # OAuth protocol endpoint: 400/401 may be RFC 6749 JSON errors (see ``declare``).
    oauth_errors: bool = False


class OAuthErrorDocument(msgspec.Struct, frozen=True, omit_defaults=True):
    """An OAuth 2 error response (RFC 6749 5.2, RFC 9449 7.1)."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None


def api_id(level: Level, service: str, sequence: int) -> str:
    if not _SERVICE.match(service) or not 0 < sequence < 1000:
        raise ValueError("service class is 2 digits, sequence 1-999")
    return f"OP{_BANK_CODE}{'01' if level == 'A1' else '02'}{service}{sequence:03d}"


_ERRORS = {
    400: "Malformed request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
    413: "Payload too large",
    415: "Unsupported media type",
    423: "Account locked",
    429: "Too many requests",
    503: "Service unavailable",
}


def declare(
    *,
    operation_id: str,
    summary: str,
    tag: str,
    level: Level,
    service: str,
    sequence: int,
    audience: Audience,
    roles: Iterable[str] = (),
    scopes: Iterable[str] = (),
    resource: str | None = None,
    fields: Mapping[str, tuple[FieldClass, str]] | None = None,
    description: str | None = None,
    errors: Iterable[int] = (),
    audited: bool = True,
    oauth_errors: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for ``@get/@post/...``: the route's one declaration.

    ``oauth_errors``: the endpoint speaks the OAuth protocol, whose 400/401 answers are RFC 6749
    JSON error documents, not problem documents (every other error stays a problem document).
    """
    if not _OPERATION_ID.match(operation_id):
        raise ValueError(f"operationId {operation_id!r} must be PascalCase")
    spec = ApiSpec(
        operation_id=operation_id,
        api_id=api_id(level, service, sequence),
        level=level,
        audience=audience,
        roles=frozenset(roles),
        scopes=frozenset(scopes),
        resource=resource,
        fields=dict(fields or {}),
        audited=audited,
        oauth_errors=oauth_errors,
    )
    codes = set(errors) | {400, 422}
    if audience != "public":
        codes |= {401, 403}
    if resource is not None:
        codes.add(404)
    responses = {
        code: ResponseSpec(
            data_container=ProblemDocument,
            description=_ERRORS[code],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for code in sorted(codes)
    }
    if oauth_errors:
        for code in (400, 401):
            responses[code] = ResponseSpec(
                data_container=OAuthErrorDocument,
                description=f"OAuth error (RFC 6749 5.2): {_ERRORS[code]}",
                media_type="application/json",
                generate_examples=False,
            )
    security: list[dict[str, list[str]]] = []
    if audience in {"member", "operator"}:
        security = [{"portalSession": []}]
    elif audience in {"client", "customer"}:
        security = [{"oauth2": sorted(spec.scopes)}]
    return {
        "operation_id": operation_id,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "responses": responses,
        "security": security,
        "opt": {"api": spec},
    }


def spec_of(opt: Mapping[str, Any]) -> ApiSpec | None:
    spec = opt.get("api")
    return spec if isinstance(spec, ApiSpec) else None
