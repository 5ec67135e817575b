"""Isolation builders for lending resources: an offer and an application in the victim tenant."""

from __future__ import annotations

from datetime import timedelta

import httpx
from litestar import Litestar

from puhui.clock import utcnow
from puhui.lending.models import Application, ApplicationStatus, Offer, OfferStatus
from puhui.tenancy.models import Tenant
from tests.builders import row_snapshot
from tests.isolation.registry import Victim, register_body, register_builder, register_caller
from tests.lending_builders import LENDING_SCOPES, consented_caller, new_uscc


@register_builder("offer")
async def offer(app: Litestar, tenant: Tenant) -> Victim:
    now = utcnow()
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = Offer(
            tenant_id=tenant.id,
            uscc=new_uscc(),
            product_code="TAX-LOAN",
            product_version=1,
            min_amount_fen=10_000_00,
            max_amount_fen=100_000_00,
            term_options=[6, 12],
            annual_rate="0.0435",
            apr_percent="4.3500",
            cost_example={},
            grade="A3",
            status=OfferStatus.CREATED,
            expires_at=now + timedelta(days=14),
            status_changed_at=now,
        )
        session.add(row)
    return Victim({"offer_id": str(row.id)}, Offer, row.id)


@register_builder("application")
async def application(app: Litestar, tenant: Tenant) -> Victim:
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = Application(
            tenant_id=tenant.id,
            uscc=new_uscc(),
            enterprise_name="受害企业有限公司",
            legal_rep_name="李四",
            purpose="working_capital",
            amount_fen=100_000_00,
            term_months=12,
            repayment_method="equal_instalment",
            product_code="TAX-LOAN",
            product_version=1,
            contact_name="李四",
            status=ApplicationStatus.DRAFT,
            missing_sources=[],
            expires_at=utcnow() + timedelta(days=30),
        )
        row.contact_phone = "13900000000"
        session.add(row)
    return Victim({"application_id": str(row.id)}, Application, row.id)


register_body("WithdrawApplication", {"reason": "withdrawn by an attacker"})


async def _consented_attacker(
    app: Litestar, attacker: Tenant, victim: Victim, scopes: frozenset[str]
) -> httpx.AsyncClient:
    """The attacker even holds an authorised consent of the same enterprise."""
    row = await row_snapshot(app, victim.model, victim.row_id)
    assert row is not None
    return await consented_caller(app, attacker, str(row["uscc"]), scopes or LENDING_SCOPES)


register_caller("offer")(_consented_attacker)
register_caller("application")(_consented_attacker)
