"""Portal sign-in and sign-out (session cookie + CSRF token)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody

from puhui.deps import Subject
from puhui.gateway.catalogue import declare
from puhui.identity.schemas import LoginRequest, SessionRead
from puhui.identity.service import authenticate_member
from puhui.identity.sessions import COOKIE_NAME

__all__ = ["SessionController"]


class SessionController(Controller):
    path = "/api/v1/session"

    @post(
        "/",
        status_code=201,
        **declare(
            operation_id="Login",
            summary="Sign in to the portal",
            tag="Identity",
            level="A1",
            service="02",
            sequence=1,
            audience="public",
            errors=(401, 429),
            fields={"password": ("C3", "secret")},
        ),
    )
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest]
    ) -> Response[SessionRead]:
        state = request.app.state
        member, tenant = await authenticate_member(
            state.db,
            state.settings,
            data.email,
            data.password,
            request.client.host if request.client else None,
        )
        session_id, session = await state.sessions.create(member.id, tenant.id)
        body = SessionRead(
            member_id=member.id,
            tenant_id=tenant.id,
            tenant_kind=tenant.kind.value,
            roles=list(member.roles),
            csrf_token=session.csrf_token,
        )
        cookie = Cookie(
            key=COOKIE_NAME,
            value=session_id,
            httponly=True,
            secure=state.settings.secure_cookies,
            samesite="lax",
            path="/",
            max_age=state.settings.session_absolute_seconds,
        )
        return Response(body, status_code=201, cookies=[cookie])

    @get(
        "/",
        **declare(
            operation_id="GetCurrentSession",
            summary="Who is signed in",
            tag="Identity",
            level="A1",
            service="02",
            sequence=2,
            audience="member",
        ),
    )
    async def current(self, subject: Subject) -> SessionRead:
        return SessionRead(
            member_id=subject.member_id,  # type: ignore[arg-type]
            tenant_id=subject.tenant_id,
            tenant_kind=subject.tenant_kind.value,
            roles=sorted(subject.roles),
            csrf_token=subject.csrf_token or "",
        )

    @delete(
        "/",
        **declare(
            operation_id="Logout",
            summary="Sign out",
            tag="Identity",
            level="A1",
            service="02",
            sequence=3,
            audience="member",
        ),
    )
    async def logout(self, request: Request[Any, Any, Any], subject: Subject) -> Response[None]:
        if subject.session_id:
            await request.app.state.sessions.delete(subject.session_id)
        return Response(
            None, status_code=204, cookies=[Cookie(key=COOKIE_NAME, value="", max_age=0, path="/")]
        )
