"""The portal's router: static assets, the language switch, and every page controller (partner
portal under /portal, operator console under /console). Problems on pages render as HTML."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

import partner_portal.messages  # noqa: F401 - registers the portal's zh/en messages
from partner_portal.i18n import LOCALE_COOKIE, LOCALES
from partner_portal.pages.account import AccountPages
from partner_portal.pages.apps import AppPages
from partner_portal.pages.console import ConsolePages
from partner_portal.pages.insights import InsightPages
from partner_portal.pages.reference import ReferencePages
from partner_portal.pages.workspace import WorkspacePages
from partner_portal.problem_pages import portal_exception_handlers
from partner_portal.rendering import STATIC_DIR

__all__ = ["portal_router"]


class LanguageForm(msgspec.Struct):
    lang: str
    next: str = ""  # the page the switch was pressed on (pages send no Referer: no-referrer)
    _csrf: str = ""


def _local_path(target: str) -> bool:
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(32 < ord(ch) < 127 for ch in target)  # browsers drop tabs: "/\t/x" is "//x"
    )


@post("/lang", include_in_schema=False, status_code=303)
async def switch_language(
    request: Request[Any, Any, Any],
    data: Annotated[LanguageForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    lang = data.lang if data.lang in LOCALES else "zh"
    back = request.headers.get("referer") or "/"
    # Only redirect within this site: a Referer from elsewhere falls back to the home page.
    if not back.startswith(str(request.base_url)):
        back = "/"
    if _local_path(data.next[:500]):
        back = data.next[:500]
    redirect = Redirect(back, status_code=303)
    redirect.cookies.append(
        Cookie(key=LOCALE_COOKIE, value=lang, samesite="lax", path="/", max_age=31536000)
    )
    return redirect


def _plain_asset_path(request: Request[Any, Any, Any]) -> None:
    """Asset names are plain: a control character (e.g. %00) is simply not found, never a 500."""
    if any(ord(ch) < 32 for ch in request.url.path):
        raise NotFoundException()


def portal_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            switch_language,
            create_static_files_router(
                path="/static",
                directories=[STATIC_DIR],
                include_in_schema=False,
                before_request=_plain_asset_path,
            ),
            AccountPages,
            WorkspacePages,
            AppPages,
            ReferencePages,
            InsightPages,
            ConsolePages,
        ],
        exception_handlers=portal_exception_handlers,
    )
