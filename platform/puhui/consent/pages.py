"""``/oauth/authorize``: the customer-facing authorization endpoint (HTML, zh/en, phone-sized).

client_id + request_uri -> redeem the pushed request -> password -> one-time code -> consent
screen -> grant (authorise the consent, mint the code, redirect with ``iss``) or refuse
(``access_denied``). Nothing before a successful redeem redirects anywhere: an unknown client
or request only ever gets an error page (RFC 6749 4.1.2.1; FAPI 2.0).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from authlib.common.urls import add_params_to_uri
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from partner_portal.csp import allow_form_targets
from partner_portal.rendering import locale_of, page
from sqlalchemy.ext.asyncio import AsyncSession

import puhui.consent.messages  # noqa: F401 - registers the pages' wording
from puhui.consent.flow import pushed_from_context, pushed_to_context
from puhui.consent.forms import (
    CodeBody,
    CsrfBody,
    DecisionBody,
    LoginBody,
    double_submit_ok,
    form_cookie,
    new_form_token,
    same_token,
)
from puhui.consent.gate import parse_consent_id
from puhui.consent.models import Consent, ConsentStatus
from puhui.consent.repository import ConsentRepository
from puhui.consent.service import authorise_consent, reject_consent
from puhui.consent.status import board_of
from puhui.consent.views import consent_view
from puhui.customers.models import CustomerSession, CustomerUser, Enterprise, SessionKind
from puhui.customers.repository import CustomerUserRepository
from puhui.customers.service import (
    authenticate_customer,
    send_one_time_code,
    verify_one_time_code,
)
from puhui.customers.sessions import (
    AUTHORIZE_COOKIE,
    CUSTOMER_SESSION_OPT,
    csrf_for,
    end_session,
    find_session,
    open_session,
)
from puhui.db.session import tenant_bypass
from puhui.errors import ProblemError, register_problem
from puhui.notify import load_notifier
from puhui.oauth.models import ClientStatus
from puhui.oauth.par import AuthorizationRequestError, PushedAuthorizationRequest
from puhui.oauth.repository import ClientRepository
from puhui.oauth.service import issue_authorization_code, redeem_request_uri
from puhui.security.masking import mask_phone
from puhui.tenancy.models import Tenant

__all__ = ["TOO_MANY_CODES", "AuthorizePages", "problem_words"]

FLOW_LIFETIME = timedelta(minutes=10)
MAX_CODES_PER_FLOW = 5
TOO_MANY_CODES = register_problem(
    "too-many-codes", "Too many one-time codes", 429, "Too many codes were sent; start again."
)
_PATH = "/oauth/authorize"


def problem_words(request: Request[Any, Any, Any], exc: ProblemError) -> str:
    """The customer-facing wording of a sign-in problem, in the page's language."""
    from partner_portal.i18n import translate

    key = f"problem.{exc.kind.slug}"
    words = translate(key, locale_of(request))
    return exc.detail if words == key else words


def error_page(
    request: Request[Any, Any, Any],
    key: str,
    status: int,
    *,
    back: str | None = None,
    **params: Any,
) -> Template:
    return page(
        request, "consent/error.html", status_code=status, message_key=key, params=params, back=back
    )


def _bye(response: Response[Any]) -> Response[Any]:
    response.cookies.append(Cookie(key=AUTHORIZE_COOKIE, value="", max_age=0, path=_PATH))
    return response


def _denied_url(
    pushed: PushedAuthorizationRequest, issuer: str, error: str, description: str
) -> str:
    params = [("error", error), ("error_description", description)]
    if pushed.request.state is not None:
        params.append(("state", pushed.request.state))
    params.append(("iss", issuer))  # RFC 9207
    url: str = add_params_to_uri(pushed.request.redirect_uri, params)
    return url


async def _flow(
    session: AsyncSession, request: Request[Any, Any, Any], stage: str
) -> CustomerSession | None:
    row = await find_session(session, request.cookies.get(AUTHORIZE_COOKIE), SessionKind.AUTHORIZE)
    return row if row is not None and row.stage == stage else None


async def _parties(
    session: AsyncSession, row: CustomerSession
) -> tuple[Consent, CustomerUser, Enterprise]:
    consent = await ConsentRepository(session).find(uuid.UUID(str(row.context["consent_id"])))
    pair = (
        await CustomerUserRepository(session).with_enterprise(row.customer_user_id)
        if row.customer_user_id
        else None
    )
    if consent is None or pair is None:
        raise ProblemError("The authorization session is incomplete.")
    return consent, pair[0], pair[1]


class AuthorizePages(Controller):
    path = _PATH
    include_in_schema = False
    opt = CUSTOMER_SESSION_OPT

    @get("/")
    async def start(
        self,
        request: Request[Any, Any, Any],
        client_id: Annotated[str | None, QueryParameter()] = None,
        request_uri: Annotated[str | None, QueryParameter()] = None,
    ) -> Response[Any]:
        state = request.app.state
        settings = state.settings
        if not client_id or not request_uri or len(client_id) > 64 or len(request_uri) > 256:
            return error_page(request, "consent.error.request", 400, error="invalid_request")
        async with state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.authorize"):
                client = await ClientRepository(session).by_client_id(client_id)
                if client is None or client.status is ClientStatus.REVOKED:
                    return error_page(request, "consent.error.request", 400, error="invalid_client")
                try:
                    pushed = await redeem_request_uri(state, request_uri, client_id)
                except AuthorizationRequestError as exc:
                    return error_page(request, "consent.error.request", 400, error=exc.error)
                # From here on the redirect_uri is the registered one (checked at PAR).
                consent_id = parse_consent_id(pushed.request.consent_id or "")
                consent = await ConsentRepository(session).find(consent_id) if consent_id else None
                if (
                    consent is None
                    or consent.tenant_id != client.tenant_id
                    or consent.client_id != client.client_id
                    or consent.status is not ConsentStatus.AWAITING_AUTHORISATION
                ):
                    url = _denied_url(
                        pushed,
                        settings.issuer,
                        "invalid_request",
                        "no consent awaiting authorisation",
                    )
                    return Redirect(url, status_code=303)
                partner = await session.get(Tenant, client.tenant_id)
                token, _row = await open_session(
                    session,
                    SessionKind.AUTHORIZE,
                    lifetime=FLOW_LIFETIME,
                    stage="login",
                    context={
                        "pushed": pushed_to_context(pushed),
                        "consent_id": str(consent.id),
                        "partner": partner.name if partner else client.name,
                        "codes_sent": 0,
                    },
                )
        form = new_form_token()
        response = self._login_page(request, form, partner.name if partner else client.name)
        response.cookies.extend(
            [
                Cookie(
                    key=AUTHORIZE_COOKIE,
                    value=token,
                    httponly=True,
                    secure=settings.secure_cookies,
                    samesite="lax",
                    path=_PATH,
                    max_age=int(FLOW_LIFETIME.total_seconds()),
                ),
                form_cookie(form, secure=settings.secure_cookies),
            ]
        )
        return response

    @staticmethod
    def _login_page(
        request: Request[Any, Any, Any],
        form: str,
        partner: str,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Template:
        return page(
            request,
            "consent/login.html",
            status_code=status,
            csrf_token=form,
            action=f"{_PATH}/login",
            intro_key="consent.login.intro",
            partner=partner,
            error=error,
        )

    @staticmethod
    def _code_page(
        request: Request[Any, Any, Any],
        form: str,
        phone: str | None,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Template:
        return page(
            request,
            "consent/code.html",
            status_code=status,
            csrf_token=form,
            action=f"{_PATH}/code",
            resend=f"{_PATH}/resend",
            phone=mask_phone(phone or ""),
            error=error,
        )

    @post("/login", status_code=200)
    async def login(self, request: Request[Any, Any, Any], data: LoginBody) -> Response[Any]:
        state = request.app.state
        if not double_submit_ok(request, data.csrf):
            return error_page(request, "consent.error.csrf", 403)
        failure: ProblemError | None = None
        async with state.db.unit_of_work() as session:
            row = await _flow(session, request, "login")
            if row is None:
                return _bye(error_page(request, "consent.error.session", 400))
            partner = str(row.context.get("partner", ""))
            try:
                user = await authenticate_customer(
                    session, state.settings, data.phone, data.password
                )
            except ProblemError as exc:
                failure = exc
            else:
                code = await send_one_time_code(session, load_notifier(state.settings), user)
                row.stage = "code"
                row.customer_user_id = user.id
                row.one_time_code_id = code.id
                row.context = {**row.context, "codes_sent": 1}
                phone = user.phone
        if failure is not None:
            words = problem_words(request, failure)
            return self._login_page(
                request, data.csrf, partner, error=words, status=failure.kind.status
            )
        return self._code_page(request, data.csrf, phone)

    @post("/resend", status_code=200)
    async def resend(self, request: Request[Any, Any, Any], data: CsrfBody) -> Response[Any]:
        state = request.app.state
        if not double_submit_ok(request, data.csrf):
            return error_page(request, "consent.error.csrf", 403)
        async with state.db.unit_of_work() as session:
            row = await _flow(session, request, "code")
            user = (
                await session.get(CustomerUser, row.customer_user_id)
                if row and row.customer_user_id
                else None
            )
            if row is None or user is None:
                return _bye(error_page(request, "consent.error.session", 400))
            sent = int(row.context.get("codes_sent", 0))
            if sent >= MAX_CODES_PER_FLOW:
                await end_session(session, row)
                return _bye(error_page(request, "problem.too-many-codes", 429))
            code = await send_one_time_code(session, load_notifier(state.settings), user)
            row.one_time_code_id = code.id
            row.context = {**row.context, "codes_sent": sent + 1}
            phone = user.phone
        return self._code_page(request, data.csrf, phone)

    @post("/code", status_code=200)
    async def code(self, request: Request[Any, Any, Any], data: CodeBody) -> Response[Any]:
        state = request.app.state
        if not double_submit_ok(request, data.csrf):
            return error_page(request, "consent.error.csrf", 403)
        token = request.cookies.get(AUTHORIZE_COOKIE, "")
        failure: ProblemError | None = None
        async with state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.authorize"):
                row = await _flow(session, request, "code")
                user = (
                    await session.get(CustomerUser, row.customer_user_id)
                    if row and row.customer_user_id
                    else None
                )
                if row is None or user is None or row.one_time_code_id is None:
                    return _bye(error_page(request, "consent.error.session", 400))
                phone = user.phone
                try:
                    await verify_one_time_code(
                        session, state.settings, user, row.one_time_code_id, data.code
                    )
                except ProblemError as exc:
                    failure = exc
                else:
                    consent, user, enterprise = await _parties(session, row)
                    pushed = pushed_from_context(row.context["pushed"])
                    if enterprise.uscc != consent.enterprise_uscc:
                        await reject_consent(session, board_of(state), consent, user)
                        await end_session(session, row)
                        url = _denied_url(
                            pushed, state.settings.issuer, "access_denied", "another enterprise"
                        )
                        return _bye(
                            error_page(request, "consent.error.other_enterprise", 403, back=url)
                        )
                    row.stage = "consent"
                    view = consent_view(
                        consent,
                        partner=str(row.context.get("partner", "")),
                        enterprise=enterprise.name,
                        locale=locale_of(request),
                    )
        if failure is not None:
            return self._code_page(
                request,
                data.csrf,
                phone,
                error=problem_words(request, failure),
                status=failure.kind.status,
            )
        return self._review_page(request, csrf_for(token), view, pushed.request.redirect_uri)

    @staticmethod
    def _review_page(
        request: Request[Any, Any, Any],
        csrf: str,
        view: Any,
        redirect_uri: str,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Response[Any]:
        # The decision answers with a 303 to the client's redirect_uri, and Chromium applies
        # form-action to that redirect: the page names the (registered) redirect origin.
        return allow_form_targets(
            page(
                request,
                "consent/review.html",
                status_code=status,
                csrf_token=csrf,
                action=f"{_PATH}/decision",
                consent=view,
                centre_url=f"{request.app.state.settings.issuer}/consent-centre",
                error=error,
            ),
            redirect_uri,
        )

    @post("/decision", status_code=303)
    async def decision(self, request: Request[Any, Any, Any], data: DecisionBody) -> Response[Any]:
        state = request.app.state
        settings = state.settings
        token = request.cookies.get(AUTHORIZE_COOKIE, "")
        if not token or not same_token(csrf_for(token), data.csrf):
            return error_page(request, "consent.error.csrf", 403)
        if data.decision not in {"grant", "reject"}:
            return error_page(request, "consent.error.request", 400, error="invalid_request")
        async with state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.authorize"):
                row = await _flow(session, request, "consent")
                if row is None:
                    return _bye(error_page(request, "consent.error.session", 400))
                consent, user, enterprise = await _parties(session, row)
                pushed = pushed_from_context(row.context["pushed"])
                board = board_of(state)
                if data.decision == "reject":
                    await reject_consent(session, board, consent, user)
                    url = _denied_url(
                        pushed, settings.issuer, "access_denied", "the customer refused"
                    )
                elif "marketing" in consent.purposes and data.marketing != "yes":
                    # Marketing is never pre-ticked: the customer must tick it themselves.
                    view = consent_view(
                        consent,
                        partner=str(row.context.get("partner", "")),
                        enterprise=enterprise.name,
                        locale=locale_of(request),
                    )
                    return self._review_page(
                        request,
                        data.csrf,
                        view,
                        pushed.request.redirect_uri,
                        error="consent.review.marketing_needed",
                        status=422,
                    )
                else:
                    try:
                        await authorise_consent(
                            session, board, consent, user, enterprise, issuer=settings.issuer
                        )
                    except ProblemError:
                        await end_session(session, row)
                        url = _denied_url(
                            pushed, settings.issuer, "access_denied", "consent no longer awaiting"
                        )
                        return _bye(error_page(request, "consent.error.session", 409, back=url))
                    url = await issue_authorization_code(
                        session, state, pushed, user.id, consent.id
                    )
                await end_session(session, row)
        return _bye(Redirect(url, status_code=303))
