"""Partner sign-up and e-mail verification: a pending tenant, its owner, and a sandbox inbox
message with a single-use link. The owner can sign in once the address is verified."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, InvalidRequest, NotFound
from puhui.identity.passwords import hash_password
from puhui.onboarding.models import CaseStatus, CooperationCase, SandboxMessage, VerificationToken
from puhui.onboarding.repository import (
    PartnerDirectoryRepository,
    SandboxInboxRepository,
    VerificationRepository,
)
from puhui.onboarding.schemas import SCENARIO_TYPES, SignUp
from puhui.onboarding.tokens import hash_token, new_token
from puhui.onboarding.uscc import valid_uscc
from puhui.tenancy.models import Member, MemberStatus, Tenant, TenantKind, TenantStatus
from puhui.tenancy.repository import MemberRepository

__all__ = [
    "VERIFICATION_TTL",
    "SignUpResult",
    "Verified",
    "sandbox_inbox",
    "sign_up",
    "valid_email",
    "verify_email",
]

VERIFICATION_TTL = timedelta(hours=24)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
MIN_PASSWORD = 12


@dataclass(frozen=True)
class SignUpResult:
    tenant: Tenant
    member: Member
    verification_link: str


@dataclass(frozen=True)
class Verified:
    tenant: Tenant
    member: Member


def valid_email(email: str) -> bool:
    return len(email) <= 254 and bool(_EMAIL.match(email))


def _check(form: SignUp) -> list[FieldError]:
    errors: list[FieldError] = []
    if not 2 <= len(form.organisation.strip()) <= 200:
        errors.append(FieldError("organisation", "2 to 200 characters"))
    if not valid_uscc(form.uscc):
        errors.append(FieldError("uscc", "not a valid unified social credit code"))
    if form.scenario_type not in SCENARIO_TYPES:
        errors.append(FieldError("scenario_type", "choose one of the listed scenarios"))
    if not 1 <= len(form.contact_name.strip()) <= 120:
        errors.append(FieldError("contact_name", "1 to 120 characters"))
    if not valid_email(form.email.strip()):
        errors.append(FieldError("email", "not an e-mail address"))
    if not _MOBILE.match(form.phone.strip()):
        errors.append(FieldError("phone", "an 11-digit mainland mobile number"))
    password = form.password
    if (
        len(password) < MIN_PASSWORD
        or len(password) > 128
        or not any(c.isalpha() for c in password)
        or not any(c.isdigit() for c in password)
    ):
        errors.append(
            FieldError("password", f"at least {MIN_PASSWORD} characters with letters and digits")
        )
    return errors


async def sign_up(
    session: AsyncSession, form: SignUp, *, portal_url: str, client_ip: str | None
) -> SignUpResult:
    """Create the pending tenant, its invited owner and the cooperation draft; send the link."""
    errors = _check(form)
    if errors:
        raise InvalidRequest(errors=errors)
    uscc = form.uscc.strip().upper()
    email = form.email.strip().lower()
    # Argon2 is slow by design: hash off the event loop and before any row is written.
    password_hash = await anyio.to_thread.run_sync(hash_password, form.password)
    with tenant_bypass(session, reason="onboarding.sign_up"):
        if await PartnerDirectoryRepository(session).by_uscc(uscc) is not None:
            raise Conflict("An organisation with this unified social credit code is registered.")
        if await MemberRepository(session).by_email(email) is not None:
            raise Conflict("This e-mail address is already registered.")
        tenant = Tenant(
            code=f"p-{secrets.token_hex(5)}",
            name=form.organisation.strip(),
            kind=TenantKind(form.kind),
            status=TenantStatus.PENDING,
            uscc=uscc,
            scenario_type=form.scenario_type,
            plan="sandbox",
            is_sandbox=True,
        )
        session.add(tenant)
        await session.flush()
        member = Member(
            tenant_id=tenant.id,
            email=email,
            display_name=form.contact_name.strip(),
            roles=["owner"],
            password_hash=password_hash,
            status=MemberStatus.INVITED,  # becomes active when the e-mail is verified
        )
        session.add(member)
        await session.flush()
        case = CooperationCase(
            tenant_id=tenant.id,
            status=CaseStatus.DRAFT,
            contact_name=form.contact_name.strip(),
            contact_email=email,
        )
        case.contact_phone = form.phone.strip()
        session.add(case)
        token, token_hash = new_token()
        session.add(
            VerificationToken(
                tenant_id=tenant.id,
                member_id=member.id,
                token_hash=token_hash,
                expires_at=utcnow() + VERIFICATION_TTL,
            )
        )
        link = f"{portal_url}/portal/verify?token={token}"
        session.add(
            SandboxMessage(
                recipient=email,
                subject="请验证您的邮箱 / Verify your e-mail address",
                body=(
                    f"{tenant.name}: open the link within 24 hours to verify {email} and "
                    "activate your sandbox. 请在 24 小时内打开链接完成验证。"
                ),
                link=link,
            )
        )
        record_event(
            session,
            "onboarding.signed_up",
            actor_tenant_id=tenant.id,
            actor_member_id=member.id,
            target_tenant_id=tenant.id,
            target=f"tenant:{tenant.id}",
            client_ip=client_ip,
            details={"scenario_type": form.scenario_type, "kind": form.kind},
        )
        await session.flush()
    return SignUpResult(tenant, member, link)


async def verify_email(session: AsyncSession, token: str, client_ip: str | None) -> Verified:
    """Activate the owner behind a valid, unused, unexpired link; the tenant stays pending."""
    with tenant_bypass(session, reason="onboarding.verify_email"):
        row = await VerificationRepository(session).by_hash(hash_token(token))
        now = utcnow()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise NotFound("This verification link is unknown, used or expired.")
        row.used_at = now
        member = await MemberRepository(session).get(row.member_id)
        tenant = await PartnerDirectoryRepository(session).get(row.tenant_id)
        member.status = MemberStatus.ACTIVE
        record_event(
            session,
            "onboarding.email_verified",
            actor_tenant_id=tenant.id,
            actor_member_id=member.id,
            target_tenant_id=tenant.id,
            target=f"member:{member.id}",
            client_ip=client_ip,
        )
        await session.flush()
    return Verified(tenant, member)


async def sandbox_inbox(session: AsyncSession, recipient: str) -> list[SandboxMessage]:
    return list(await SandboxInboxRepository(session).for_recipient(recipient.strip()))
