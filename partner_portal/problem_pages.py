"""Problems on portal pages answer as HTML pages (same status, same request id), and a missing
sign-in on a GET page redirects to the sign-in page instead of showing a JSON document."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from partner_portal.csp import page_security_headers
from partner_portal.rendering import page
from puhui.errors import ProblemError
from puhui.observability import bind_request, current_request_id, new_request_id

__all__ = ["portal_exception_handlers"]

log = logging.getLogger("partner_portal")

_TITLES = {400: "error.400", 401: "error.401", 403: "error.403", 404: "error.404"}


def _headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    request_id = current_request_id()
    if request_id == "-":
        request_id = bind_request(new_request_id(request.headers.get("x-request-id"))).request_id
    return {"x-request-id": request_id, **page_security_headers()}


def error_page(
    request: Request[Any, Any, Any], status: int, detail: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    response = page(
        request,
        "error.html",
        status_code=status,
        status=status,
        title_key=_TITLES.get(status, "error.other"),
        detail=detail,
        request_id=current_request_id(),
    )
    for name, value in {**_headers(request), **(headers or {})}.items():
        response.headers[name] = value
    return response


def _on_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Any]:
    if exc.kind.status == 401 and request.method == "GET":
        target = quote(request.url.path, safe="/")
        return Redirect(
            f"/portal/sign-in?next={target}", status_code=303, headers=_headers(request)
        )
    return error_page(request, exc.kind.status, exc.detail, exc.headers)


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code if 400 <= exc.status_code < 500 else 500
    if status == 500:
        log.error("portal page failed", exc_info=exc)
    return error_page(request, status, "")


portal_exception_handlers: dict[type[Exception] | int, Any] = {
    ProblemError: _on_problem,
    HTTPException: _on_http,
}
