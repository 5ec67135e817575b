"""HTML form handling: reading url-encoded bodies, turning problems into per-field messages, and
the double-submit CSRF cookie that protects anonymous forms (sign-in, sign-up, invitations).

Signed-in forms carry the session's token in ``_csrf`` and the gateway pipeline checks it; before
sign-in there is no session, so the page sets a random cookie and embeds the same value.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response

from puhui.errors import CSRF, FieldError, ProblemError

__all__ = [
    "ANON_CSRF_COOKIE",
    "FormErrors",
    "anon_csrf_token",
    "check_anon_csrf",
    "field_errors",
    "first",
    "read_form",
    "remember_anon_csrf",
]

ANON_CSRF_COOKIE = "puhui_form_csrf"
_MAX_FIELDS = 100

FormErrors = dict[str, str]


async def read_form(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """The url-encoded body as name -> values; anything else (JSON, garbage) reads as empty."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    fields: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


def first(form: dict[str, list[str]], name: str, limit: int = 20_000) -> str:
    """The first value of a field, trimmed to ``limit`` characters ('' when absent)."""
    values = form.get(name)
    return values[0][:limit] if values else ""


def field_errors(exc: ProblemError) -> FormErrors:
    """Per-field messages for a form, plus ``_form`` for a problem that names no field."""
    errors: FormErrors = {}
    for item in exc.errors or []:
        if isinstance(item, FieldError):
            errors.setdefault(item.field, item.message)
    if not errors:
        errors["_form"] = exc.detail
    return errors


def anon_csrf_token(request: Request[Any, Any, Any]) -> str:
    """The browser's current anonymous-form token, or a fresh one (set it with ``remember``)."""
    current = request.cookies.get(ANON_CSRF_COOKIE, "")
    return current if 20 <= len(current) <= 64 else secrets.token_urlsafe(24)


def remember_anon_csrf(
    request: Request[Any, Any, Any], response: Response[Any], token: str
) -> None:
    response.set_cookie(
        key=ANON_CSRF_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/",
        max_age=3600,
    )


def check_anon_csrf(request: Request[Any, Any, Any], form: dict[str, list[str]]) -> None:
    """Double-submit check: the form's ``_csrf`` must equal the cookie (set by this site only)."""
    cookie = request.cookies.get(ANON_CSRF_COOKIE, "")
    sent = first(form, "_csrf", 100)
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise ProblemError(problem=CSRF)
