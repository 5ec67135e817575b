"""Starting and ending a portal session from a page (the same store and cookie as the API)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from partner_portal.rendering import locale_of
from puhui.identity.sessions import COOKIE_NAME

__all__ = ["end_session", "start_session"]


async def start_session(
    request: Request[Any, Any, Any],
    response: Response[Any],
    member_id: uuid.UUID,
    tenant_id: uuid.UUID,
) -> None:
    state = request.app.state
    session_id, _ = await state.sessions.create(member_id, tenant_id, locale_of(request))
    response.cookies.append(
        Cookie(
            key=COOKIE_NAME,
            value=session_id,
            httponly=True,
            secure=state.settings.secure_cookies,
            samesite="lax",
            path="/",
            max_age=state.settings.session_absolute_seconds,
        )
    )


async def end_session(
    request: Request[Any, Any, Any], response: Response[Any], session_id: str | None
) -> None:
    if session_id:
        await request.app.state.sessions.delete(session_id)
    response.cookies.append(Cookie(key=COOKIE_NAME, value="", max_age=0, path="/"))
