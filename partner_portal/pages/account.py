"""Signing in and out (with the optional TOTP step), partner sign-up, e-mail verification, the
sandbox inbox, accepting an invitation and managing one's own second factor."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect

from partner_portal.declare import ANY_PARTNER, STAFF, portal_page
from partner_portal.forms import (
    anon_csrf_token,
    check_anon_csrf,
    field_errors,
    first,
    read_form,
    remember_anon_csrf,
)
from partner_portal.pages.sandbox import issue_sandbox_credentials
from partner_portal.pages.session_cookie import end_session, start_session
from partner_portal.rendering import page
from puhui.db.session import SessionFactory
from puhui.deps import Db, MaybeSubject, Subject
from puhui.errors import NotFound, ProblemError
from puhui.identity.service import authenticate_member
from puhui.onboarding.repository import PartnerDirectoryRepository
from puhui.onboarding.schemas import SCENARIO_TYPES, SignUp
from puhui.onboarding.second_factor import (
    SecondFactorService,
    answer_challenge,
    open_challenge,
    second_factor_required,
)
from puhui.onboarding.signup import sandbox_inbox, sign_up, verify_email
from puhui.onboarding.team import accept_invitation, invitation_by_token
from puhui.tenancy.models import TenantKind
from puhui.tenancy.repository import MemberRepository
from puhui.tenancy.subject import AuthSubject

__all__ = ["AccountPages"]

CHALLENGE_COOKIE = "puhui_2fa"
_Text = Annotated[str | None, QueryParameter(required=False, max_length=500)]


def _client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _portal_url(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


def _safe_next(target: str, bank: bool) -> str:
    """Only a local path is followed after sign-in (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console" if bank else "/portal"


def _home(subject: AuthSubject) -> str:
    return "/console" if subject.tenant_kind is TenantKind.BANK else "/portal"


def _anon_page(
    request: Request[Any, Any, Any], template: str, status: int = 200, **ctx: Any
) -> Response[Any]:
    token = anon_csrf_token(request)
    response = page(request, template, status_code=status, csrf_token=token, **ctx)
    remember_anon_csrf(request, response, token)
    return response


class AccountPages(Controller):
    path = "/"

    @get("/", **portal_page("PortalHome", "Portal landing page", 1, audience="public"))
    async def home(
        self, request: Request[Any, Any, Any], maybe_subject: MaybeSubject
    ) -> Response[Any]:
        if maybe_subject is not None:
            return Redirect(_home(maybe_subject), status_code=303)
        return page(request, "landing.html", sandbox=request.app.state.settings.sandbox)

    @get("/portal/sign-in", **portal_page("SignInPage", "Sign-in form", 2, audience="public"))
    async def sign_in_form(
        self,
        request: Request[Any, Any, Any],
        maybe_subject: MaybeSubject,
        next_: Annotated[
            str | None, QueryParameter(name="next", required=False, max_length=300)
        ] = None,
    ) -> Response[Any]:
        if maybe_subject is not None:
            return Redirect(_home(maybe_subject), status_code=303)
        return _anon_page(request, "account/sign_in.html", next=next_ or "", errors={})

    @post(
        "/portal/sign-in",
        **portal_page("SignInSubmit", "Sign in", 3, audience="public", write=True),
    )
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await read_form(request)
        check_anon_csrf(request, form)
        state = request.app.state
        email, target = first(form, "email", 254), first(form, "next", 300)
        try:
            member, tenant = await authenticate_member(
                state.db, state.settings, email, first(form, "password", 200), _client_ip(request)
            )
        except ProblemError as exc:
            return _anon_page(
                request,
                "account/sign_in.html",
                exc.kind.status,
                next=target,
                email=email,
                errors={"_form": exc.detail},
            )
        db: SessionFactory = state.db
        bank = tenant.kind is TenantKind.BANK
        async with db.unit_of_work() as session:
            if await second_factor_required(session, member):
                token = await open_challenge(session, member)
                response: Response[Any] = Redirect(
                    f"/portal/sign-in/code?next={_safe_next(target, bank)}", status_code=303
                )
                response.set_cookie(
                    key=CHALLENGE_COOKIE,
                    value=token,
                    httponly=True,
                    samesite="strict",
                    secure=state.settings.secure_cookies,
                    path="/portal/sign-in",
                    max_age=300,
                )
                return response
        response = Redirect(_safe_next(target, bank), status_code=303)
        await start_session(request, response, member.id, tenant.id)
        return response

    @get(
        "/portal/sign-in/code",
        **portal_page("SecondFactorPage", "Second-factor form", 4, audience="public"),
    )
    async def code_form(
        self,
        request: Request[Any, Any, Any],
        next_: Annotated[
            str | None, QueryParameter(name="next", required=False, max_length=300)
        ] = None,
    ) -> Response[Any]:
        if not request.cookies.get(CHALLENGE_COOKIE):
            return Redirect("/portal/sign-in", status_code=303)
        return _anon_page(request, "account/second_factor.html", next=next_ or "", errors={})

    @post(
        "/portal/sign-in/code",
        **portal_page(
            "SecondFactorSubmit", "Answer the second factor", 5, audience="public", write=True
        ),
    )
    async def code(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await read_form(request)
        check_anon_csrf(request, form)
        token = request.cookies.get(CHALLENGE_COOKIE, "")
        target = first(form, "next", 300)
        db: SessionFactory = request.app.state.db
        try:
            async with db.unit_of_work() as session:
                result = await answer_challenge(
                    session, token, first(form, "code", 20), _client_ip(request)
                )
                bank = False
                if result is not None:
                    tenant = await PartnerDirectoryRepository(session).get(result[1])
                    bank = tenant.kind is TenantKind.BANK
        except ProblemError:
            return Redirect("/portal/sign-in", status_code=303)
        if result is None:
            return _anon_page(
                request,
                "account/second_factor.html",
                422,
                next=target,
                errors={"code": "error.code_mismatch"},
            )
        response: Response[Any] = Redirect(_safe_next(target, bank), status_code=303)
        response.delete_cookie(CHALLENGE_COOKIE, path="/portal/sign-in")
        await start_session(request, response, result[0], result[1])
        return response

    @post(
        "/portal/sign-out",
        **portal_page(
            "SignOut", "Sign out of the portal", 6, roles=(*ANY_PARTNER, *STAFF), write=True
        ),
    )
    async def sign_out(self, request: Request[Any, Any, Any], subject: Subject) -> Response[Any]:
        response: Response[Any] = Redirect("/portal/sign-in", status_code=303)
        await end_session(request, response, subject.session_id)
        return response

    @get(
        "/portal/sign-up", **portal_page("SignUpPage", "Partner sign-up form", 7, audience="public")
    )
    async def sign_up_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return _anon_page(
            request, "account/sign_up.html", values={}, errors={}, scenarios=SCENARIO_TYPES
        )

    @post(
        "/portal/sign-up",
        **portal_page(
            "SignUpSubmit", "Sign up a partner organisation", 8, audience="public", write=True
        ),
    )
    async def sign_up(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        form = await read_form(request)
        check_anon_csrf(request, form)
        values = {
            name: first(form, name, 300)
            for name in (
                "organisation",
                "uscc",
                "scenario_type",
                "kind",
                "contact_name",
                "email",
                "phone",
            )
        }
        kind = (
            values["kind"]
            if values["kind"] in {"scenario_provider", "channel_app"}
            else "scenario_provider"
        )
        data = SignUp(
            organisation=values["organisation"],
            uscc=values["uscc"],
            scenario_type=values["scenario_type"],
            kind=kind,  # type: ignore[arg-type]  # narrowed to the two literals above
            contact_name=values["contact_name"],
            email=values["email"],
            phone=values["phone"],
            password=first(form, "password", 200),
        )
        try:
            result = await sign_up(
                db, data, portal_url=_portal_url(request), client_ip=_client_ip(request)
            )
        except ProblemError as exc:
            await db.rollback()
            return _anon_page(
                request,
                "account/sign_up.html",
                422 if exc.kind.status == 422 else exc.kind.status,
                values=values,
                errors=field_errors(exc),
                scenarios=SCENARIO_TYPES,
            )
        return page(
            request,
            "account/signed_up.html",
            email=result.member.email,
            sandbox=request.app.state.settings.sandbox,
        )

    @get(
        "/portal/sandbox/inbox",
        **portal_page("SandboxInbox", "Sandbox e-mail inbox", 9, audience="public"),
    )
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        email: Annotated[str | None, QueryParameter(required=False, max_length=254)] = None,
    ) -> Response[Any]:
        if not request.app.state.settings.sandbox:
            raise NotFound()
        messages = await sandbox_inbox(db, email) if email else []
        return page(request, "account/inbox.html", email=email or "", messages=messages)

    @get(
        "/portal/verify",
        **portal_page("VerifyEmailPage", "Confirm an e-mail address", 10, audience="public"),
    )
    async def verify_form(
        self, request: Request[Any, Any, Any], token: _Text = None
    ) -> Response[Any]:
        return _anon_page(request, "account/verify.html", token=token or "")

    @post(
        "/portal/verify",
        **portal_page("VerifyEmail", "Verify an e-mail address", 11, audience="public", write=True),
    )
    async def verify(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        form = await read_form(request)
        check_anon_csrf(request, form)
        verified = await verify_email(db, first(form, "token", 200), _client_ip(request))
        credentials = await issue_sandbox_credentials(request, db, verified.tenant, verified.member)
        return page(
            request, "account/verified.html", tenant=verified.tenant, credentials=credentials
        )

    @get(
        "/portal/invitations/accept",
        **portal_page("InvitationPage", "An invitation to a team", 12, audience="public"),
    )
    async def invitation_form(
        self, request: Request[Any, Any, Any], db: Db, token: _Text = None
    ) -> Response[Any]:
        view = await invitation_by_token(db, token or "")
        return _anon_page(request, "account/accept.html", token=token, view=view, errors={})

    @post(
        "/portal/invitations/accept",
        **portal_page(
            "AcceptInvitation", "Accept an invitation", 13, audience="public", write=True
        ),
    )
    async def accept(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        form = await read_form(request)
        check_anon_csrf(request, form)
        token = first(form, "token", 200)
        try:
            await accept_invitation(
                db,
                token,
                first(form, "display_name", 200),
                first(form, "password", 200),
                _client_ip(request),
            )
        except ProblemError as exc:
            if exc.kind.status != 422:
                raise
            await db.rollback()
            view = await invitation_by_token(db, token)
            return _anon_page(
                request,
                "account/accept.html",
                422,
                token=token,
                view=view,
                errors=field_errors(exc),
            )
        return Redirect("/portal/sign-in", status_code=303)

    @get(
        "/portal/security",
        **portal_page(
            "SecurityPage",
            "Own sign-in security",
            14,
            roles=(*ANY_PARTNER, *STAFF),
        ),
    )
    async def security_page(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        member = await MemberRepository(db).get(subject.member_id)  # type: ignore[arg-type]
        enrolment = await SecondFactorService(db, subject).status(member.email)
        return page(
            request,
            "account/security.html",
            idle_minutes=request.app.state.settings.session_idle_seconds // 60,
            enrolment=enrolment,
            errors={},
        )

    @post(
        "/portal/security/totp",
        **portal_page(
            "SecondFactorChange",
            "Enrol, confirm or remove TOTP",
            15,
            roles=(*ANY_PARTNER, *STAFF),
            write=True,
        ),
    )
    async def totp(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        form = await read_form(request)
        action = first(form, "action", 20)
        member = await MemberRepository(db).get(subject.member_id)  # type: ignore[arg-type]
        service = SecondFactorService(db, subject)
        try:
            if action == "start":
                await service.start(member.email)
            elif action == "confirm":
                await service.confirm(first(form, "code", 20))
            elif action == "disable":
                await service.disable(first(form, "code", 20))
            else:
                raise NotFound()
        except ProblemError as exc:
            if exc.kind.status not in {409, 422}:
                raise
            enrolment = await service.status(member.email)
            return page(
                request,
                "account/security.html",
                idle_minutes=request.app.state.settings.session_idle_seconds // 60,
                status_code=exc.kind.status,
                enrolment=enrolment,
                errors=field_errors(exc),
            )
        return Redirect("/portal/security", status_code=303)
