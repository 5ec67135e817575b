"""Isolation builders for tenancy resources."""

from __future__ import annotations

from litestar import Litestar

from puhui.tenancy.models import Member, Tenant
from tests.builders import create_member
from tests.isolation.registry import Victim, register_body, register_builder


@register_builder("member")
async def member(app: Litestar, tenant: Tenant) -> Victim:
    row = await create_member(app, tenant, ["viewer"])
    return Victim({"member_id": str(row.id)}, Member, row.id)


register_body(
    "UpdateMember", {"version": 1, "display_name": "Renamed by an attacker", "roles": ["owner"]}
)
