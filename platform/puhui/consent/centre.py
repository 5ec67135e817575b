"""``/consent-centre``: the customer's own list of consents, receipts, and one-step revocation.

A customer session (password + one-time code) separate from the portal's member session; the
consents are read across partner tenants under an audited bypass, filtered by the customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from partner_portal.rendering import locale_of, page
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.consent.forms import (
    CodeBody,
    CsrfBody,
    LoginBody,
    double_submit_ok,
    form_cookie,
    new_form_token,
    same_token,
)
from puhui.consent.models import Consent
from puhui.consent.pages import error_page, problem_words
from puhui.consent.receipts import verify_receipt
from puhui.consent.repository import ConsentReceiptRepository, ConsentRepository
from puhui.consent.service import revoke_consent
from puhui.consent.status import board_of
from puhui.consent.views import ConsentView, consent_view
from puhui.customers.models import CustomerSession, CustomerUser, SessionKind
from puhui.customers.service import (
    authenticate_customer,
    send_one_time_code,
    verify_one_time_code,
)
from puhui.customers.sessions import (
    CENTRE_COOKIE,
    CUSTOMER_SESSION_OPT,
    csrf_for,
    end_session,
    find_session,
    open_session,
)
from puhui.db.session import tenant_bypass
from puhui.errors import ProblemError
from puhui.notify import load_notifier
from puhui.oauth.runtime import oauth_runtime
from puhui.security.masking import mask_phone
from puhui.tenancy.models import Tenant

__all__ = ["ConsentCentrePages", "centre_customer", "partner_names"]

_PATH = "/consent-centre"
SIGN_IN_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(minutes=30)


async def centre_customer(
    session: AsyncSession, request: Request[Any, Any, Any]
) -> tuple[str, CustomerSession, CustomerUser] | None:
    """The signed-in customer of the consent centre (cookie token, row, user), or None."""
    token = request.cookies.get(CENTRE_COOKIE)
    row = await find_session(session, token, SessionKind.CENTRE)
    if token is None or row is None or row.stage != "active" or row.customer_user_id is None:
        return None
    user = await session.get(CustomerUser, row.customer_user_id)
    return None if user is None else (token, row, user)


async def partner_names(session: AsyncSession, consents: Sequence[Consent]) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for tenant_id in {c.tenant_id for c in consents}:
        tenant = await session.get(Tenant, tenant_id)
        names[tenant_id] = tenant.name if tenant else str(tenant_id)
    return names


def _cookie(token: str, request: Request[Any, Any, Any], lifetime: timedelta) -> Cookie:
    return Cookie(
        key=CENTRE_COOKIE,
        value=token,
        httponly=True,
        secure=request.app.state.settings.secure_cookies,
        samesite="lax",
        path="/",  # the consent centre and the customer API
        max_age=int(lifetime.total_seconds()),
    )


class ConsentCentrePages(Controller):
    path = _PATH
    include_in_schema = False
    opt = CUSTOMER_SESSION_OPT

    def _login_page(
        self,
        request: Request[Any, Any, Any],
        form: str,
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
            intro_key="consent.centre.intro",
            partner="",
            error=error,
        )

    @get("/")
    async def home(
        self,
        request: Request[Any, Any, Any],
        revoked: Annotated[str | None, QueryParameter()] = None,
    ) -> Response[Any]:
        async with request.app.state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_centre"):
                found = await centre_customer(session, request)
                if found is not None:
                    token, _row, user = found
                    consents = await ConsentRepository(session).of_customer(user.id)
                    views = await self._views(session, request, consents)
                    receipts = {
                        c.id: list(await ConsentReceiptRepository(session).of(c.id))
                        for c in consents
                    }
        if found is None:
            form = new_form_token()
            response = self._login_page(request, form)
            response.cookies.append(
                form_cookie(form, secure=request.app.state.settings.secure_cookies)
            )
            return response
        return page(
            request,
            "customer/centre.html",
            csrf_token=csrf_for(token),
            consents=views,
            receipts=receipts,
            revoked=revoked == "1",
        )

    @staticmethod
    async def _views(
        session: AsyncSession, request: Request[Any, Any, Any], consents: Sequence[Consent]
    ) -> list[ConsentView]:
        names = await partner_names(session, consents)
        return [
            consent_view(
                c,
                partner=names[c.tenant_id],
                enterprise=c.enterprise_uscc,
                locale=locale_of(request),
            )
            for c in consents
        ]

    @post("/login", status_code=200)
    async def login(self, request: Request[Any, Any, Any], data: LoginBody) -> Response[Any]:
        state = request.app.state
        if not double_submit_ok(request, data.csrf):
            return error_page(request, "consent.error.csrf", 403)
        failure: ProblemError | None = None
        async with state.db.unit_of_work() as session:
            try:
                user = await authenticate_customer(
                    session, state.settings, data.phone, data.password
                )
            except ProblemError as exc:
                failure = exc
            else:
                code = await send_one_time_code(session, load_notifier(state.settings), user)
                token, row = await open_session(
                    session,
                    SessionKind.CENTRE,
                    lifetime=SIGN_IN_LIFETIME,
                    stage="code",
                    customer_user_id=user.id,
                )
                row.one_time_code_id = code.id
                phone = user.phone
        if failure is not None:
            return self._login_page(
                request,
                data.csrf,
                error=problem_words(request, failure),
                status=failure.kind.status,
            )
        response = self._code_page(request, data.csrf, phone)
        response.cookies.append(_cookie(token, request, SIGN_IN_LIFETIME))
        return response

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
            resend=None,
            phone=mask_phone(phone or ""),
            error=error,
        )

    @post("/code", status_code=303)
    async def code(self, request: Request[Any, Any, Any], data: CodeBody) -> Response[Any]:
        state = request.app.state
        if not double_submit_ok(request, data.csrf):
            return error_page(request, "consent.error.csrf", 403)
        failure: ProblemError | None = None
        async with state.db.unit_of_work() as session:
            row = await find_session(
                session, request.cookies.get(CENTRE_COOKIE), SessionKind.CENTRE
            )
            user = (
                await session.get(CustomerUser, row.customer_user_id)
                if row and row.customer_user_id
                else None
            )
            if row is None or user is None or row.stage != "code" or row.one_time_code_id is None:
                return Redirect(f"{_PATH}/", status_code=303)
            phone = user.phone
            try:
                await verify_one_time_code(
                    session, state.settings, user, row.one_time_code_id, data.code
                )
            except ProblemError as exc:
                failure = exc
            else:
                # A new token once signed in: the pre-code cookie never becomes the session.
                await end_session(session, row)
                token, _ = await open_session(
                    session,
                    SessionKind.CENTRE,
                    lifetime=SESSION_LIFETIME,
                    stage="active",
                    customer_user_id=user.id,
                )
        if failure is not None:
            return self._code_page(
                request,
                data.csrf,
                phone,
                error=problem_words(request, failure),
                status=failure.kind.status,
            )
        response = Redirect(f"{_PATH}/", status_code=303)
        response.cookies.append(_cookie(token, request, SESSION_LIFETIME))
        return response

    @post("/consents/{consent_id:uuid}/revoke", status_code=303)
    async def revoke(
        self, request: Request[Any, Any, Any], consent_id: FromPath[uuid.UUID], data: CsrfBody
    ) -> Response[Any]:
        state = request.app.state
        async with state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_centre"):
                found = await centre_customer(session, request)
                if found is None:
                    return Redirect(f"{_PATH}/", status_code=303)
                token, _row, user = found
                if not same_token(csrf_for(token), data.csrf):
                    return error_page(request, "consent.error.csrf", 403)
                consent = await ConsentRepository(session).customer_consent(consent_id, user.id)
                if consent is None:
                    return error_page(request, "consent.error.request", 404, error="not_found")
                try:
                    await revoke_consent(
                        session,
                        board_of(state),
                        consent,
                        actor="customer",
                        issuer=state.settings.issuer,
                        tokens=oauth_runtime(state),
                    )
                except ProblemError:
                    return Redirect(f"{_PATH}/", status_code=303)
        return Redirect(f"{_PATH}/?revoked=1", status_code=303)

    @get("/receipts/{receipt_id:uuid}")
    async def receipt(
        self, request: Request[Any, Any, Any], receipt_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        async with request.app.state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_centre"):
                found = await centre_customer(session, request)
                if found is None:
                    return Redirect(f"{_PATH}/", status_code=303)
                receipt = await ConsentReceiptRepository(session).get_for_customer(
                    receipt_id, found[2].id
                )
        if receipt is None:
            return error_page(request, "consent.error.request", 404, error="not_found")
        return page(
            request, "customer/receipt.html", receipt=receipt, intact=verify_receipt(receipt)
        )

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], data: CsrfBody) -> Response[Any]:
        async with request.app.state.db.unit_of_work() as session:
            found = await centre_customer(session, request)
            if found is not None and same_token(csrf_for(found[0]), data.csrf):
                await end_session(session, found[1])
        response = Redirect(f"{_PATH}/", status_code=303)
        response.cookies.append(Cookie(key=CENTRE_COOKIE, value="", max_age=0, path="/"))
        return response
