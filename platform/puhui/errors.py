"""The one error hierarchy: every failure a caller sees is an RFC 9457 problem document.

Each problem kind has a stable ``type`` (a path under ``/problems/`` on the issuer), a title and a
status. Handlers turn framework and unexpected exceptions into problems without leaking internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from puhui.observability import bind_request, current_request_id, new_request_id

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPES",
    "AuthenticationRequired",
    "Conflict",
    "FieldError",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "Problem",
    "ProblemDocument",
    "ProblemError",
    "RateLimited",
    "exception_handlers",
    "register_problem",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("puhui.errors")


class FieldError(msgspec.Struct, frozen=True):
    """One bad input field: where it was (body, query, path, header) and what is wrong."""

    field: str
    message: str
    source: str = "body"


class ProblemDocument(msgspec.Struct, frozen=True, omit_defaults=True):
    """RFC 9457 problem details as sent on the wire."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldError] | None = None


class Problem(msgspec.Struct, frozen=True):
    """A registered problem kind: slug (the stable part of ``type``), title and HTTP status."""

    slug: str
    title: str
    status: int
    description: str


PROBLEM_TYPES: dict[str, Problem] = {}


def register_problem(slug: str, title: str, status: int, description: str) -> Problem:
    """Register a problem kind (stable slug) once, at import time of the module that raises it."""
    if slug in PROBLEM_TYPES and PROBLEM_TYPES[slug] != Problem(slug, title, status, description):
        raise ValueError(f"problem type {slug!r} is already registered differently")
    problem = Problem(slug, title, status, description)
    PROBLEM_TYPES[slug] = problem
    return problem


MALFORMED = register_problem(
    "malformed-request", "Malformed request", 400, "The body is not valid JSON or form data."
)
VALIDATION = register_problem(
    "validation-error", "Invalid input", 422, "One or more fields are invalid; see `errors`."
)
UNAUTHENTICATED = register_problem(
    "authentication-required", "Authentication required", 401, "Sign in or send valid credentials."
)
FORBIDDEN = register_problem(
    "forbidden", "Forbidden", 403, "The caller may not perform this action."
)
CSRF = register_problem(
    "csrf-failed",
    "CSRF token missing or invalid",
    403,
    "Send the session's CSRF token with unsafe requests.",
)
NOT_FOUND = register_problem("not-found", "Not found", 404, "No such resource for this caller.")
METHOD = register_problem(
    "method-not-allowed", "Method not allowed", 405, "The resource does not support this method."
)
CONFLICT = register_problem(
    "conflict", "Conflict", 409, "The request conflicts with the resource's current state."
)
STALE = register_problem(
    "stale-version",
    "Stale version",
    409,
    "The resource changed since it was read; reload and retry.",
)
TOO_LARGE = register_problem(
    "payload-too-large", "Payload too large", 413, "The body exceeds the size limit."
)
MEDIA = register_problem(
    "unsupported-media-type", "Unsupported media type", 415, "Send application/json."
)
LOCKED = register_problem(
    "account-locked",
    "Account temporarily locked",
    423,
    "Too many failed sign-ins; try again later.",
)
RATE = register_problem("rate-limited", "Too many requests", 429, "Slow down; see Retry-After.")
INTERNAL = register_problem(
    "internal-error",
    "Internal error",
    500,
    "Something went wrong on our side; quote the request id.",
)
UNAVAILABLE = register_problem(
    "service-unavailable", "Service unavailable", 503, "A dependency is unavailable; retry later."
)


class ProblemError(Exception):
    """Raise anywhere in request handling to answer with a problem document."""

    problem: ClassVar[Problem] = INTERNAL

    def __init__(
        self,
        detail: str | None = None,
        *,
        problem: Problem | None = None,
        errors: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = problem or self.problem
        self.detail = detail or self.kind.description
        self.errors = errors
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class InvalidRequest(ProblemError):
    problem = VALIDATION


class AuthenticationRequired(ProblemError):
    problem = UNAUTHENTICATED


class Forbidden(ProblemError):
    problem = FORBIDDEN


class NotFound(ProblemError):
    problem = NOT_FOUND


class Conflict(ProblemError):
    problem = CONFLICT


class RateLimited(ProblemError):
    problem = RATE


def problem_response(
    request: Request[Any, Any, Any],
    kind: Problem,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    issuer: str = request.app.state.settings.issuer
    request_id = current_request_id()
    if request_id == "-":  # failed before the pipeline ran (no such route): mint one now
        request_id = bind_request(new_request_id(request.headers.get("x-request-id"))).request_id
    doc = ProblemDocument(
        type=f"{issuer}/problems/{kind.slug}",
        title=kind.title,
        status=kind.status,
        detail=detail,
        instance=request.url.path,
        request_id=request_id,
        errors=errors,
    )
    return Response(
        content=msgspec.json.encode(doc),
        status_code=kind.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**(headers or {}), "X-Request-ID": request_id, "Cache-Control": "no-store"},
    )


def _field_errors(exc: ValidationException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    out: list[FieldError] = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "body")
        source = str(item.get("source") or "body")
        message = str(item.get("message") or "invalid value")
        out.append(FieldError(field=key, message=_plain(message), source=source))
    return out


def _plain(message: str) -> str:
    # msgspec messages are safe ("Expected `int`, got `str`"); cut any location suffix.
    return message.split(" - at ")[0][:300]


def _on_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[bytes]:
    return problem_response(request, exc.kind, exc.detail, errors=exc.errors, headers=exc.headers)


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = _field_errors(exc)
    if not errors:
        # Litestar raises ValidationException without field detail for undecodable bodies.
        return problem_response(request, MALFORMED, "The request body could not be decoded.")
    return problem_response(request, VALIDATION, "One or more fields are invalid.", errors=errors)


_STATUS_TO_PROBLEM = {
    400: MALFORMED,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD,
    409: CONFLICT,
    413: TOO_LARGE,
    415: MEDIA,
    429: RATE,
    503: UNAVAILABLE,
}


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    kind = _STATUS_TO_PROBLEM.get(exc.status_code)
    if kind is None:
        kind = INTERNAL if exc.status_code >= 500 else MALFORMED
    headers = dict(exc.headers or {})
    if isinstance(exc, MethodNotAllowedException):
        return problem_response(request, METHOD, METHOD.description, headers=headers)
    detail = kind.description
    if exc.status_code == 400 and "body" in str(exc.detail).lower():
        detail = "The request body could not be decoded."
    return problem_response(request, kind, detail, headers=headers)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # The full exception goes to the log with the request id; the caller gets only the id.
    from sqlalchemy.orm.exc import StaleDataError

    if isinstance(exc, StaleDataError):
        return problem_response(request, STALE, STALE.description)
    log.error("unhandled error", exc_info=exc)
    return problem_response(request, INTERNAL, INTERNAL.description)


exception_handlers: dict[type[Exception] | int, Any] = {
    ProblemError: _on_problem,
    ValidationException: _on_validation,
    NotAuthorizedException: _on_http,
    PermissionDeniedException: _on_http,
    NotFoundException: _on_http,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}
