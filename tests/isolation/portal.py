"""Isolation builders for the partner portal's tenant-owned resources (team invitations).

App pages address ``oauth_client`` rows, whose builder lives in ``tests/isolation/oauth.py``.
"""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar

from puhui.clock import utcnow
from puhui.onboarding.models import Invitation
from puhui.onboarding.tokens import new_token
from puhui.tenancy.models import Tenant
from tests.builders import unique
from tests.isolation.registry import Victim, register_builder


@register_builder("invitation")
async def invitation(app: Litestar, tenant: Tenant) -> Victim:
    _, token_hash = new_token()
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = Invitation(
            tenant_id=tenant.id,
            email=f"{unique('invitee')}@example.com",
            roles=["viewer"],
            token_hash=token_hash,
            expires_at=utcnow() + timedelta(days=7),
        )
        session.add(row)
    return Victim({"invitation_id": str(row.id)}, Invitation, row.id)
