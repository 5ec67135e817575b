"""Form bodies of the customer pages and their CSRF checks.

Anonymous forms (sign-in) use a double-submit token: a random pre-session cookie echoed in a
hidden field. Signed-in forms carry the session's synchronizer token (``csrf_for``).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body

__all__ = [
    "FORM_COOKIE",
    "CodeBody",
    "CodeForm",
    "CsrfBody",
    "CsrfForm",
    "DecisionBody",
    "DecisionForm",
    "LoginBody",
    "LoginForm",
    "double_submit_ok",
    "form_cookie",
    "new_form_token",
    "same_token",
]

FORM_COOKIE = "puhui_form"
_Csrf = Annotated[str, msgspec.Meta(max_length=128)]


class LoginForm(msgspec.Struct, frozen=True):
    phone: Annotated[str, msgspec.Meta(max_length=32)]
    password: Annotated[str, msgspec.Meta(max_length=256)]
    csrf: _Csrf = msgspec.field(name="_csrf", default="")


class CodeForm(msgspec.Struct, frozen=True):
    code: Annotated[str, msgspec.Meta(max_length=16)]
    csrf: _Csrf = msgspec.field(name="_csrf", default="")


class DecisionForm(msgspec.Struct, frozen=True):
    decision: Annotated[str, msgspec.Meta(max_length=16)]
    marketing: Annotated[str, msgspec.Meta(max_length=8)] = ""
    csrf: _Csrf = msgspec.field(name="_csrf", default="")


class CsrfForm(msgspec.Struct, frozen=True):
    csrf: _Csrf = msgspec.field(name="_csrf", default="")


_URL_ENCODED = Body(media_type=RequestEncodingType.URL_ENCODED)
LoginBody = Annotated[LoginForm, _URL_ENCODED]
CodeBody = Annotated[CodeForm, _URL_ENCODED]
DecisionBody = Annotated[DecisionForm, _URL_ENCODED]
CsrfBody = Annotated[CsrfForm, _URL_ENCODED]


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def form_cookie(token: str, *, secure: bool) -> Cookie:
    return Cookie(
        key=FORM_COOKIE, value=token, httponly=True, secure=secure, samesite="strict", path="/"
    )


def same_token(expected: str | None, sent: str | None) -> bool:
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def double_submit_ok(request: Request[Any, Any, Any], sent: str) -> bool:
    return same_token(request.cookies.get(FORM_COOKIE), sent)
