"""Team invitations: an owner or admin invites by e-mail with roles; the invitee accepts through a
single-use link, sets a password and becomes an active member of that tenant only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, Forbidden, InvalidRequest, NotFound
from puhui.identity.passwords import hash_password
from puhui.onboarding.models import Invitation, SandboxMessage
from puhui.onboarding.repository import InvitationRepository, PartnerDirectoryRepository
from puhui.onboarding.schemas import InvitationCreate
from puhui.onboarding.signup import MIN_PASSWORD
from puhui.onboarding.tokens import hash_token, new_token
from puhui.tenancy.models import Member, MemberStatus, Tenant
from puhui.tenancy.repository import MemberRepository
from puhui.tenancy.schemas import MemberCreate
from puhui.tenancy.service import MemberService
from puhui.tenancy.subject import AuthSubject

__all__ = [
    "INVITATION_TTL",
    "InvitationView",
    "TeamService",
    "accept_invitation",
    "invitation_by_token",
]

INVITATION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class InvitationView:
    invitation: Invitation
    tenant: Tenant


class TeamService:
    """Members and open invitations of the caller's tenant."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.invitations = InvitationRepository(session)

    async def members(self) -> Sequence[Member]:
        return await MemberRepository(self.session).list(limit=200)

    async def open_invitations(self) -> Sequence[Invitation]:
        return await self.invitations.open_ones()

    async def invite(self, data: InvitationCreate, *, portal_url: str) -> str:
        """Create the invited member and its invitation; returns the accept link."""
        if not self.subject.has_role("owner", "admin"):
            raise Forbidden("Only an owner or admin can invite.")
        try:
            create = msgspec.convert(
                {
                    "email": data.email.strip().lower(),
                    "display_name": data.email.split("@")[0][:120] or "member",
                    "roles": list(data.roles),
                },
                MemberCreate,
            )
        except msgspec.ValidationError as exc:
            raise InvalidRequest(
                errors=[FieldError("email", str(exc).split(" - at ")[0])]
            ) from None
        member = await MemberService(self.session, self.subject).create(create)
        token, token_hash = new_token()
        invitation = self.invitations.add(
            Invitation(
                tenant_id=self.subject.tenant_id,
                email=member.email,
                roles=list(member.roles),
                token_hash=token_hash,
                invited_by=self.subject.member_id,
                expires_at=utcnow() + INVITATION_TTL,
            )
        )
        link = f"{portal_url}/portal/invitations/accept?token={token}"
        self.session.add(
            SandboxMessage(
                recipient=member.email,
                subject="邀请加入团队 / You are invited to a Puhui partner team",
                body=f"Roles: {', '.join(member.roles)}. The link is valid for 7 days.",
                link=link,
            )
        )
        await self.invitations.flush()
        record_event(
            self.session,
            "onboarding.member_invited",
            subject=self.subject,
            target_tenant_id=self.subject.tenant_id,
            target=f"invitation:{invitation.id}",
            details={"roles": list(member.roles)},
        )
        return link

    async def revoke(self, invitation_id: uuid.UUID) -> None:
        if not self.subject.has_role("owner", "admin"):
            raise Forbidden("Only an owner or admin can revoke an invitation.")
        invitation = await self.invitations.get(invitation_id)
        if invitation.accepted_at is not None:
            raise Conflict("This invitation was already accepted.")
        invitation.revoked_at = utcnow()
        member = await MemberRepository(self.session).by_email(invitation.email)
        if member is not None and member.status is MemberStatus.INVITED:
            member.status = MemberStatus.DISABLED
        record_event(
            self.session,
            "onboarding.invitation_revoked",
            subject=self.subject,
            target_tenant_id=self.subject.tenant_id,
            target=f"invitation:{invitation.id}",
        )


async def invitation_by_token(session: AsyncSession, token: str) -> InvitationView:
    with tenant_bypass(session, reason="onboarding.invitation_lookup"):
        invitation = await InvitationRepository(session).by_hash(hash_token(token))
        if (
            invitation is None
            or invitation.accepted_at is not None
            or invitation.revoked_at is not None
            or invitation.expires_at <= utcnow()
        ):
            raise NotFound("This invitation is unknown, used, revoked or expired.")
        tenant = await PartnerDirectoryRepository(session).get(invitation.tenant_id)
    return InvitationView(invitation, tenant)


async def accept_invitation(
    session: AsyncSession, token: str, display_name: str, password: str, client_ip: str | None
) -> Member:
    view = await invitation_by_token(session, token)
    errors: list[FieldError] = []
    if not 1 <= len(display_name.strip()) <= 120:
        errors.append(FieldError("display_name", "1 to 120 characters"))
    if len(password) < MIN_PASSWORD or not any(c.isdigit() for c in password):
        errors.append(FieldError("password", f"at least {MIN_PASSWORD} characters with digits"))
    if errors:
        raise InvalidRequest(errors=errors)
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    with tenant_bypass(session, reason="onboarding.invitation_accept"):
        member = await MemberRepository(session).by_email(view.invitation.email)
        if member is None or member.tenant_id != view.tenant.id:
            raise NotFound("This invitation is unknown, used, revoked or expired.")
        if member.status is not MemberStatus.INVITED:
            raise Conflict("This member is no longer waiting for an invitation.")
        member.display_name = display_name.strip()
        member.password_hash = password_hash
        member.status = MemberStatus.ACTIVE
        view.invitation.accepted_at = utcnow()
        record_event(
            session,
            "onboarding.invitation_accepted",
            actor_tenant_id=view.tenant.id,
            actor_member_id=member.id,
            target_tenant_id=view.tenant.id,
            target=f"invitation:{view.invitation.id}",
            client_ip=client_ip,
        )
        await session.flush()
    return member
