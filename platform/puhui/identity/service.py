"""Member sign-in: Argon2 passwords, lock-out after repeated failures, every attempt audited."""

from __future__ import annotations

from datetime import timedelta

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import LOCKED, AuthenticationRequired, ProblemError
from puhui.identity.passwords import hash_password, needs_rehash, verify_password
from puhui.tenancy.models import Member, MemberStatus, Tenant
from puhui.tenancy.repository import MemberRepository, TenantRepository

__all__ = ["authenticate_member"]

_WRONG = "E-mail or password is wrong."


async def authenticate_member(
    db: SessionFactory, settings: Settings, email: str, password: str, client_ip: str | None
) -> tuple[Member, Tenant]:
    """The member and tenant for valid credentials; failures are counted and committed first."""
    async with db.unit_of_work() as session:
        with tenant_bypass(session, reason="identity.login"):
            member = await MemberRepository(session).by_email(email)
            tenant = await TenantRepository(session).get(member.tenant_id) if member else None
            now = utcnow()
            if member is None or tenant is None:
                verify_password(None, password)  # same work as a real check: no account probing
                record_event(
                    session,
                    "login.failed",
                    outcome="failure",
                    client_ip=client_ip,
                    details={"reason": "unknown_account"},
                )
                failure: ProblemError | None = AuthenticationRequired(_WRONG)
            elif member.locked_until is not None and member.locked_until > now:
                record_event(
                    session,
                    "login.locked",
                    outcome="failure",
                    client_ip=client_ip,
                    actor_tenant_id=member.tenant_id,
                    actor_member_id=member.id,
                )
                failure = ProblemError(problem=LOCKED, headers=_retry_after(member, now))
            elif member.status is not MemberStatus.ACTIVE or not verify_password(
                member.password_hash, password
            ):
                member.failed_logins += 1
                locked = member.failed_logins >= settings.login_max_failures
                if locked:
                    member.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
                    member.failed_logins = 0
                record_event(
                    session,
                    "login.failed",
                    outcome="failure",
                    client_ip=client_ip,
                    actor_tenant_id=member.tenant_id,
                    actor_member_id=member.id,
                    details={"locked": locked},
                )
                failure = (
                    ProblemError(problem=LOCKED, headers=_retry_after(member, now))
                    if locked
                    else (AuthenticationRequired(_WRONG))
                )
            else:
                member.failed_logins = 0
                member.locked_until = None
                member.last_login_at = now
                if member.password_hash and needs_rehash(member.password_hash):
                    member.password_hash = hash_password(password)
                record_event(
                    session,
                    "login.succeeded",
                    client_ip=client_ip,
                    actor_tenant_id=member.tenant_id,
                    actor_member_id=member.id,
                )
                failure = None
            await session.flush()  # inside the bypass: the member row belongs to its tenant
    if failure is not None or member is None or tenant is None:
        raise failure or AuthenticationRequired(_WRONG)
    return member, tenant


def _retry_after(member: Member, now: object) -> dict[str, str]:
    if member.locked_until is None:
        return {}
    seconds = max(1, int((member.locked_until - utcnow()).total_seconds()))
    return {"Retry-After": str(seconds)}
