"""Consent APIs: the partner's (OAuth client, scope ``consents``) and the customer's own.

Partner: create a consent request, read it, its receipts, revoke it. Customer (consent-centre
session cookie + ``X-CSRF-Token``): list own consents, receipts, revoke in one step.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.consent.centre import centre_customer
from puhui.consent.forms import same_token
from puhui.consent.models import Consent, ConsentReceipt
from puhui.consent.repository import ConsentReceiptRepository, ConsentRepository
from puhui.consent.schemas import (
    ConsentAmend,
    ConsentCreate,
    ConsentRead,
    ReceiptRead,
    RevokeRequest,
)
from puhui.consent.service import amend_consent, create_consent, revoke_consent
from puhui.consent.status import board_of
from puhui.customers.models import CustomerUser
from puhui.customers.sessions import CUSTOMER_SESSION_OPT, csrf_for
from puhui.db.session import tenant_bypass
from puhui.deps import Db, Subject
from puhui.errors import CSRF, AuthenticationRequired, NotFound, ProblemError
from puhui.gateway.catalogue import declare
from puhui.oauth.runtime import oauth_runtime
from puhui.tenancy.subject import AuthSubject

__all__ = ["ConsentController", "CustomerConsentController", "consent_read", "receipt_read"]

_PARTNER = {"tag": "Consent", "service": "04", "audience": "client", "scopes": ("consents",)}
_CUSTOMER_AUTH = (
    "Customer API: send the consent-centre session cookie (puhui_customer); "
    "POST also needs X-CSRF-Token."
)
_FIELDS: dict[str, tuple[Any, str]] = {"enterprise_uscc": ("C2", "uscc")}


def consent_read(consent: Consent) -> ConsentRead:
    return ConsentRead(
        id=consent.id,
        status=consent.status.value,
        client_id=consent.client_id,
        enterprise_uscc=consent.enterprise_uscc,
        purposes=list(consent.purposes),
        data_items=list(consent.data_items),
        validity_days=consent.validity_days,
        uses_per_day=consent.uses_per_day,
        authorise_by=consent.authorise_by,
        granted_at=consent.granted_at,
        valid_until=consent.valid_until,
        ended_at=consent.ended_at,
        version=consent.version,
    )


def receipt_read(receipt: ConsentReceipt) -> ReceiptRead:
    return ReceiptRead(
        id=receipt.id,
        consent_id=receipt.consent_id,
        event=receipt.event.value,
        issued_at=receipt.issued_at,
        document=dict(receipt.document),
        digest=receipt.digest,
        signature=receipt.signature,
    )


async def _own_consent(db: AsyncSession, subject: AuthSubject, consent_id: uuid.UUID) -> Consent:
    """The consent if it is this client's (tenant scoping hides other tenants' rows)."""
    consent = await ConsentRepository(db).get(consent_id)
    if consent.client_id != subject.client_id:
        raise NotFound()
    return consent


class ConsentController(Controller):
    """The partner's consent requests (audience client, scope ``consents``)."""

    path = "/api/v1/consents"

    @post(
        "/",
        status_code=201,
        **declare(
            operation_id="CreateConsent",
            summary="Ask a customer for consent (awaiting their authorisation)",
            level="A2",
            sequence=1,
            errors=(409,),
            fields=_FIELDS,
            **_PARTNER,  # type: ignore[arg-type]
        ),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        data: JSONBody[ConsentCreate],
    ) -> ConsentRead:
        return consent_read(await create_consent(db, request.app.state.settings, subject, data))

    @get(
        "/{consent_id:uuid}",
        **declare(
            operation_id="GetConsent",
            summary="One consent and its current status",
            level="A2",
            sequence=2,
            resource="consent",
            fields=_FIELDS,
            **_PARTNER,  # type: ignore[arg-type]
        ),
    )
    async def get_consent(
        self, db: Db, subject: Subject, consent_id: FromPath[uuid.UUID]
    ) -> ConsentRead:
        return consent_read(await _own_consent(db, subject, consent_id))

    @post(
        "/{consent_id:uuid}/revoke",
        status_code=200,
        **declare(
            operation_id="RevokeConsent",
            summary="Withdraw a consent (or a request not yet answered)",
            level="A2",
            sequence=3,
            resource="consent",
            errors=(409,),
            fields=_FIELDS,
            **_PARTNER,  # type: ignore[arg-type]
        ),
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        consent_id: FromPath[uuid.UUID],
        data: JSONBody[RevokeRequest],
    ) -> ConsentRead:
        consent = await _own_consent(db, subject, consent_id)
        await revoke_consent(
            db,
            board_of(request.app.state),
            consent,
            actor="partner",
            subject=subject,
            reason=data.reason,
            issuer=request.app.state.settings.issuer,
            tokens=oauth_runtime(request.app.state),
        )
        return consent_read(consent)

    @get(
        "/{consent_id:uuid}/receipts",
        **declare(
            operation_id="ListConsentReceipts",
            summary="The receipts issued for a consent",
            level="A2",
            sequence=4,
            resource="consent",
            **_PARTNER,  # type: ignore[arg-type]
        ),
    )
    async def receipts(
        self, db: Db, subject: Subject, consent_id: FromPath[uuid.UUID]
    ) -> list[ReceiptRead]:
        consent = await _own_consent(db, subject, consent_id)
        return [receipt_read(r) for r in await ConsentReceiptRepository(db).of(consent.id)]


async def _customer(
    request: Request[Any, Any, Any], session: AsyncSession, *, unsafe: bool
) -> CustomerUser:
    found = await centre_customer(session, request)
    if found is None:
        raise AuthenticationRequired("Sign in to the consent centre.")
    token, _row, user = found
    if unsafe and not same_token(csrf_for(token), request.headers.get("x-csrf-token")):
        raise ProblemError(problem=CSRF)
    return user


def _customer_route(**kwargs: Any) -> dict[str, Any]:
    """A customer API route: declared like any other, secured by the consent-centre cookie."""
    return {**declare(**kwargs), "security": [{"customerSession": []}]}


class CustomerConsentController(Controller):
    """The customer's own consents across partners (consent-centre session)."""

    path = "/api/v1/customer/consents"
    opt = CUSTOMER_SESSION_OPT

    @get(
        "/",
        **_customer_route(
            operation_id="ListMyConsents",
            summary="Every consent I have given or refused",
            tag="Consent",
            level="A2",
            service="04",
            sequence=10,
            audience="public",
            description=_CUSTOMER_AUTH,
            errors=(401,),
        ),
    )
    async def list_mine(self, request: Request[Any, Any, Any]) -> list[ConsentRead]:
        async with request.app.state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_api"):
                user = await _customer(request, session, unsafe=False)
                return [
                    consent_read(c) for c in await ConsentRepository(session).of_customer(user.id)
                ]

    @get(
        "/{consent_id:uuid}/receipts",
        **_customer_route(
            operation_id="ListMyConsentReceipts",
            summary="The receipts of one of my consents",
            tag="Consent",
            level="A2",
            service="04",
            sequence=11,
            audience="public",
            description=_CUSTOMER_AUTH,
            errors=(401, 404),
        ),
    )
    async def my_receipts(
        self, request: Request[Any, Any, Any], consent_id: FromPath[uuid.UUID]
    ) -> list[ReceiptRead]:
        async with request.app.state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_api"):
                user = await _customer(request, session, unsafe=False)
                consent = await ConsentRepository(session).customer_consent(consent_id, user.id)
                if consent is None:
                    raise NotFound()
                return [
                    receipt_read(r) for r in await ConsentReceiptRepository(session).of(consent.id)
                ]

    @post(
        "/{consent_id:uuid}/revoke",
        status_code=200,
        **_customer_route(
            operation_id="RevokeMyConsent",
            summary="Revoke one of my consents, at once",
            tag="Consent",
            level="A2",
            service="04",
            sequence=12,
            audience="public",
            description=_CUSTOMER_AUTH,
            errors=(401, 404, 409),
        ),
    )
    async def revoke_mine(
        self, request: Request[Any, Any, Any], consent_id: FromPath[uuid.UUID]
    ) -> ConsentRead:
        state = request.app.state
        async with state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_api"):
                user = await _customer(request, session, unsafe=True)
                consent = await ConsentRepository(session).customer_consent(consent_id, user.id)
                if consent is None:
                    raise NotFound()
                await revoke_consent(
                    session,
                    board_of(state),
                    consent,
                    actor="customer",
                    issuer=state.settings.issuer,
                    tokens=oauth_runtime(state),
                )
                return consent_read(consent)

    @patch(
        "/{consent_id:uuid}",
        **_customer_route(
            operation_id="AmendMyConsent",
            summary="Narrow one of my consents to fewer data items, at once",
            tag="Consent",
            level="A2",
            service="04",
            sequence=13,
            audience="public",
            description=_CUSTOMER_AUTH,
            errors=(401, 404, 409),
        ),
    )
    async def amend_mine(
        self,
        request: Request[Any, Any, Any],
        consent_id: FromPath[uuid.UUID],
        data: JSONBody[ConsentAmend],
    ) -> ConsentRead:
        state = request.app.state
        async with state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="consent.customer_api"):
                user = await _customer(request, session, unsafe=True)
                consent = await ConsentRepository(session).customer_consent(consent_id, user.id)
                if consent is None:
                    raise NotFound()
                await amend_consent(
                    session,
                    board_of(state),
                    consent,
                    {kept.source: kept.items for kept in data.data_items},
                    actor="customer",
                    issuer=state.settings.issuer,
                )
                return consent_read(consent)
