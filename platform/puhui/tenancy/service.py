"""Tenant and member rules: lifecycle, roles, and the operator's audited reach across tenants."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, Forbidden, InvalidRequest
from puhui.identity.passwords import hash_password
from puhui.tenancy.models import (
    BANK_ROLES,
    PARTNER_ROLES,
    Member,
    MemberStatus,
    Tenant,
    TenantKind,
    TenantStatus,
)
from puhui.tenancy.repository import MemberRepository, TenantRepository
from puhui.tenancy.schemas import MemberCreate, MemberUpdate, TenantCreate
from puhui.tenancy.subject import AuthSubject

__all__ = ["TENANT_TRANSITIONS", "MemberService", "OperatorTenantService"]

# pending -> active -> suspended -> active (reinstated); pending can be refused (suspended).
TENANT_TRANSITIONS: dict[TenantStatus, frozenset[TenantStatus]] = {
    TenantStatus.PENDING: frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED}),
    TenantStatus.ACTIVE: frozenset({TenantStatus.SUSPENDED}),
    TenantStatus.SUSPENDED: frozenset({TenantStatus.ACTIVE}),
}


def _allowed_roles(subject: AuthSubject) -> frozenset[str]:
    return BANK_ROLES if subject.tenant_kind is TenantKind.BANK else PARTNER_ROLES


class MemberService:
    """Members of the caller's own tenant."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.members = MemberRepository(session)

    async def page(self, limit: int, offset: int) -> Sequence[Member]:
        return await self.members.list(limit=limit, offset=offset)

    async def get(self, member_id: uuid.UUID) -> Member:
        return await self.members.get(member_id)

    async def create(self, data: MemberCreate) -> Member:
        bad = set(data.roles) - _allowed_roles(self.subject)
        if bad:
            raise InvalidRequest(
                errors=[FieldError("roles", f"not a role of this organisation: {sorted(bad)}")]
            )
        if "owner" in data.roles and not self.subject.has_role("owner"):
            raise Forbidden("Only an owner can make another owner.")
        if await self.members.by_email(data.email) is not None:
            raise Conflict("A member with this e-mail already exists.")
        member = self.members.add(
            Member(
                tenant_id=self.subject.tenant_id,
                email=data.email.lower(),
                display_name=data.display_name,
                roles=sorted(set(data.roles)),
                password_hash=hash_password(data.password) if data.password else None,
                status=MemberStatus.ACTIVE if data.password else MemberStatus.INVITED,
            )
        )
        await self.members.flush()
        record_event(
            self.session,
            "member.created",
            subject=self.subject,
            target=f"member:{member.id}",
            target_tenant_id=self.subject.tenant_id,
            details={"roles": member.roles},
        )
        return member

    async def update(self, member_id: uuid.UUID, data: MemberUpdate) -> Member:
        member = await self.members.get(member_id)
        if member.version != data.version:
            raise Conflict("The member changed since you read it; reload and retry.")
        if data.display_name is not None:
            member.display_name = data.display_name
        if data.roles is not None:
            await self._change_roles(member, sorted(set(data.roles)))
        if data.status is not None:
            if member.id == self.subject.member_id and data.status == "disabled":
                raise Conflict("You cannot disable yourself.")
            await self._guard_last_owner(member, removing=data.status == "disabled")
            member.status = MemberStatus(data.status)
        await self.members.flush()
        return member

    async def disable(self, member_id: uuid.UUID) -> None:
        member = await self.members.get(member_id)
        if member.id == self.subject.member_id:
            raise Conflict("You cannot remove yourself.")
        await self._guard_last_owner(member, removing=True)
        member.status = MemberStatus.DISABLED
        record_event(
            self.session,
            "member.disabled",
            subject=self.subject,
            target=f"member:{member.id}",
            target_tenant_id=self.subject.tenant_id,
        )

    async def _change_roles(self, member: Member, roles: list[str]) -> None:
        bad = set(roles) - _allowed_roles(self.subject)
        if bad:
            raise InvalidRequest(
                errors=[FieldError("roles", f"not a role of this organisation: {sorted(bad)}")]
            )
        touches_owner = "owner" in roles or "owner" in member.roles
        if touches_owner and not self.subject.has_role("owner"):
            raise Forbidden("Only an owner can grant or remove the owner role.")
        if "owner" in member.roles and "owner" not in roles:
            await self._guard_last_owner(member, removing=True)
        record_event(
            self.session,
            "member.roles_changed",
            subject=self.subject,
            target=f"member:{member.id}",
            target_tenant_id=self.subject.tenant_id,
            details={"from": member.roles, "to": roles},
        )
        member.roles = roles

    async def _guard_last_owner(self, member: Member, *, removing: bool) -> None:
        if removing and "owner" in member.roles and await self.members.count_active_owners() <= 1:
            raise Conflict("An organisation keeps at least one active owner.")


class OperatorTenantService:
    """Bank staff acting across tenants. Every read and change of another tenant is audited."""

    def __init__(self, session: AsyncSession, subject: AuthSubject, client_ip: str | None) -> None:
        self.session = session
        self.subject = subject
        self.client_ip = client_ip
        self.tenants = TenantRepository(session)

    async def page(self, limit: int, offset: int, status: TenantStatus | None) -> Sequence[Tenant]:
        stmt = self.tenants.query()
        if status is not None:
            stmt = stmt.where(Tenant.status == status)
        return await self.tenants.list(stmt, limit=limit, offset=offset)

    async def get(self, tenant_id: uuid.UUID) -> Tenant:
        tenant = await self.tenants.get(tenant_id)
        record_event(
            self.session,
            "operator.tenant_viewed",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"tenant:{tenant.id}",
            client_ip=self.client_ip,
        )
        return tenant

    async def create(self, data: TenantCreate) -> Tenant:
        if await self.tenants.by_code(data.code) is not None:
            raise Conflict("A tenant with this code already exists.")
        tenant = self.tenants.add(
            Tenant(
                code=data.code,
                name=data.name,
                kind=TenantKind(data.kind),
                status=TenantStatus.PENDING,
                uscc=data.uscc,
                scenario_type=data.scenario_type,
                plan="sandbox",
                is_sandbox=True,
            )
        )
        await self.tenants.flush()
        record_event(
            self.session,
            "operator.tenant_created",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"tenant:{tenant.id}",
            client_ip=self.client_ip,
        )
        return tenant

    async def _cooperation_open(self, tenant_id: uuid.UUID) -> bool:
        """True when the tenant has a cooperation case whose agreement is not yet in force."""
        # Imported here: onboarding builds on tenancy, not the other way round.
        from puhui.onboarding.models import CaseStatus
        from puhui.onboarding.repository import CooperationRepository

        with tenant_bypass(self.session, reason="operator.tenant_status_cooperation"):
            case = await CooperationRepository(self.session).of_tenant(tenant_id)
        return case is not None and case.status is not CaseStatus.ACTIVE

    async def change_status(self, tenant_id: uuid.UUID, to: TenantStatus, reason: str) -> Tenant:
        tenant = await self.tenants.get(tenant_id)
        if tenant.kind is TenantKind.BANK:
            raise Forbidden("The bank's own tenant cannot be changed here.")
        if to not in TENANT_TRANSITIONS[tenant.status]:
            raise Conflict(f"A {tenant.status.value} tenant cannot become {to.value}.")
        if to is TenantStatus.ACTIVE and await self._cooperation_open(tenant.id):
            # JR/T 0269 7.3.2 a: a signed-up partner becomes active when its owner accepts the
            # generated cooperation agreement, not by an operator's shortcut.
            raise Conflict("This partner becomes active when its owner accepts the agreement.")
        previous = tenant.status
        tenant.status = to
        tenant.status_reason = reason
        record_event(
            self.session,
            f"operator.tenant_{to.value}",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"tenant:{tenant.id}",
            reason=reason,
            client_ip=self.client_ip,
            details={"from": previous.value, "to": to.value},
        )
        await self.tenants.flush()
        return tenant

    async def members_of(self, tenant_id: uuid.UUID) -> Sequence[Member]:
        tenant = await self.tenants.get(tenant_id)
        with tenant_bypass(self.session, reason="operator.members_viewed"):
            members = await MemberRepository(self.session).list(
                MemberRepository(self.session).query().where(Member.tenant_id == tenant.id)
            )
        record_event(
            self.session,
            "operator.members_viewed",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"tenant:{tenant.id}",
            client_ip=self.client_ip,
        )
        return members
