"""A consent in a given state, made directly in the consent tables for OAuth-side tests.

The OAuth server only asks the consent domain two questions (admit a pushed request; is the
consent authorised); these rows are what those answers are computed from.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from litestar import Litestar
from sqlalchemy import update

from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentStatus
from puhui.customers.models import CustomerRole, CustomerStatus, CustomerUser, Enterprise
from puhui.db.session import tenant_bypass
from puhui.tenancy.models import Tenant


async def awaiting_consent(
    app: Litestar, tenant: Tenant, client_id: str
) -> tuple[uuid.UUID, uuid.UUID]:
    """A consent awaiting authorisation for `client_id`, and the customer who will grant it."""
    uscc = "91" + "".join(secrets.choice("0123456789") for _ in range(16))
    async with app.state.db.unit_of_work(tenant.id) as session:
        enterprise = Enterprise(uscc=uscc, name="Test SME", legal_representative="Test Rep")
        session.add(enterprise)
        await session.flush()
        customer = CustomerUser(
            enterprise_id=enterprise.id,
            role=CustomerRole.LEGAL_REPRESENTATIVE,
            status=CustomerStatus.ACTIVE,
        )
        session.add(customer)
        consent = Consent(
            tenant_id=tenant.id,
            client_id=client_id,
            enterprise_uscc=uscc,
            status=ConsentStatus.AWAITING_AUTHORISATION,
            purposes=["credit_assessment"],
            data_items=[{"source": "tax", "items": ["filings"], "lookback_months": 24}],
            validity_days=90,
            uses_per_day=10,
            authorise_by=utcnow() + timedelta(minutes=30),
        )
        session.add(consent)
        await session.flush()
        return consent.id, customer.id


async def set_consent(
    app: Litestar, consent_id: uuid.UUID, status: ConsentStatus, customer_id: uuid.UUID | None
) -> None:
    """Move the consent as the customer (or the consent's expiry) would."""
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.consent_state"):
            await session.execute(
                update(Consent)
                .where(Consent.id == consent_id)
                .values(
                    status=status,
                    customer_user_id=customer_id,
                    granted_at=utcnow(),
                    valid_until=utcnow() + timedelta(days=90),
                )
            )
