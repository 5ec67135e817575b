"""Queries for tenants and members."""

from __future__ import annotations

from sqlalchemy import func, select

from puhui.db.repository import Repository
from puhui.tenancy.models import Member, MemberStatus, Tenant

__all__ = ["MemberRepository", "TenantRepository"]


class TenantRepository(Repository[Tenant]):
    model = Tenant

    async def by_code(self, code: str) -> Tenant | None:
        return (
            await self.session.execute(select(Tenant).where(Tenant.code == code))
        ).scalar_one_or_none()


class MemberRepository(Repository[Member]):
    model = Member

    async def by_email(self, email: str) -> Member | None:
        stmt = select(Member).where(func.lower(Member.email) == email.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_active_owners(self) -> int:
        # roles is a JSON list: portable JSON containment differs per database, so filter here.
        active = await self.session.execute(
            select(Member.roles).where(Member.status == MemberStatus.ACTIVE)
        )
        return sum(1 for (roles,) in active if "owner" in roles)
