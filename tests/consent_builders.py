"""Consent builders: SME customers, consents through the real service, and page-flow helpers."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from connectors.uscc import with_check_digits
from litestar import Litestar
from sqlalchemy import select

from puhui.consent.models import Consent
from puhui.consent.schemas import ConsentCreate, DataItemRequest
from puhui.consent.service import authorise_consent, create_consent
from puhui.consent.status import board_of
from puhui.customers.models import CustomerRole, CustomerStatus, CustomerUser, Enterprise
from puhui.db.session import tenant_bypass
from puhui.identity.passwords import hash_password
from puhui.notify.models import SandboxMessage
from puhui.tenancy.models import Tenant
from puhui.tenancy.subject import AuthSubject

CUSTOMER_PASSWORD = "Customer-Pass-2026"
_HASH = hash_password(CUSTOMER_PASSWORD)
TAX_AND_PAYROLL = (
    DataItemRequest(source="tax", items=["vat_returns"], lookback_months=24),
    DataItemRequest(source="payroll", items=["payroll_summary"], lookback_months=12),
)


def random_uscc() -> str:
    org = "".join(secrets.choice("0123456789") for _ in range(8))
    return with_check_digits("91440300", org)


def random_phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


@dataclass
class Customer:
    enterprise: Enterprise
    user: CustomerUser
    phone: str
    id_number: str
    password: str = CUSTOMER_PASSWORD


async def create_customer(app: Litestar, *, uscc: str | None = None) -> Customer:
    """An enterprise and its legal representative, who can sign in with CUSTOMER_PASSWORD."""
    phone = random_phone()
    id_number = "44030519800101" + "".join(secrets.choice("0123456789") for _ in range(4))
    async with app.state.db.unit_of_work() as session:
        enterprise = Enterprise(
            uscc=uscc or random_uscc(), name="测试小微企业 Test SME", legal_representative="张三"
        )
        session.add(enterprise)
        await session.flush()
        user = CustomerUser(
            enterprise_id=enterprise.id,
            role=CustomerRole.LEGAL_REPRESENTATIVE,
            status=CustomerStatus.ACTIVE,
            password_hash=_HASH,
        )
        user.name = "张三"
        user.phone = phone
        user.id_number = id_number
        session.add(user)
    return Customer(enterprise, user, phone, id_number)


def client_subject(tenant: Tenant, client_id: str) -> AuthSubject:
    return AuthSubject(
        kind="client",
        tenant_id=tenant.id,
        tenant_kind=tenant.kind,
        client_id=client_id,
        scopes=frozenset({"consents"}),
    )


async def request_consent(
    app: Litestar,
    tenant: Tenant,
    client_id: str,
    uscc: str,
    *,
    purposes: Iterable[str] = ("credit_assessment",),
    data_items: Iterable[DataItemRequest] = TAX_AND_PAYROLL,
    validity_days: int | None = None,
) -> Consent:
    """A consent awaiting authorisation, asked for through the service as the partner would."""
    body = ConsentCreate(
        enterprise_uscc=uscc,
        purposes=list(purposes),  # type: ignore[arg-type]
        data_items=list(data_items),
        validity_days=validity_days,
    )
    async with app.state.db.unit_of_work(tenant.id) as session:
        return await create_consent(
            session, app.state.settings, client_subject(tenant, client_id), body
        )


async def authorised_consent(
    app: Litestar, tenant: Tenant, client_id: str, customer: Customer, **kwargs: Any
) -> Consent:
    consent = await request_consent(app, tenant, client_id, customer.enterprise.uscc, **kwargs)
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.authorise"):
            row: Consent | None = await session.get(Consent, consent.id)
            assert row is not None
            await authorise_consent(
                session,
                board_of(app.state),
                row,
                customer.user,
                customer.enterprise,
                issuer=app.state.settings.issuer,
            )
    return row


async def latest_code(app: Litestar, user_id: uuid.UUID) -> str:
    """The newest one-time code the sandbox notifier "sent" to this customer."""
    async with app.state.db.unit_of_work() as session:
        body = (
            await session.execute(
                select(SandboxMessage.body)
                .where(SandboxMessage.recipient_id == user_id)
                .order_by(SandboxMessage.created_at.desc())
                .limit(1)
            )
        ).scalar_one()
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


def form_token(html: str) -> str:
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


async def customer_signs_in(
    app: Litestar, http: httpx.AsyncClient, customer: Customer, *, start: str
) -> httpx.Response:
    """From a page showing the sign-in form (already fetched into ``start``) to past the code."""
    base = "/oauth/authorize" if "/oauth/authorize" in start else "/consent-centre"
    token = form_token(start)
    login = await http.post(
        f"{base}/login",
        data={"phone": customer.phone, "password": customer.password, "_csrf": token},
    )
    assert login.status_code == 200, login.text
    code = await latest_code(app, customer.user.id)
    return await http.post(f"{base}/code", data={"code": code, "_csrf": form_token(login.text)})


async def customer_revokes_in_the_centre(
    app: Litestar, browser: httpx.AsyncClient, customer: Customer, consent_id: str
) -> httpx.Response:
    """Sign in to the consent centre with ``browser`` and revoke the consent in one step."""
    start = await browser.get("/consent-centre/")
    assert start.status_code == 200, start.text
    signed_in = await customer_signs_in(app, browser, customer, start=start.text)
    assert signed_in.status_code == 303, signed_in.text
    centre = await browser.get("/consent-centre/")
    assert consent_id in centre.text
    return await browser.post(
        f"/consent-centre/consents/{consent_id}/revoke", data={"_csrf": form_token(centre.text)}
    )
