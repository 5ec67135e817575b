"""The optional TOTP second factor: enrol (confirm a first code), and the sign-in challenge that
stands between an accepted password and a portal session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import AuthenticationRequired, Conflict, FieldError, InvalidRequest
from puhui.onboarding.models import SecondFactor, SignInChallenge
from puhui.onboarding.repository import ChallengeRepository, SecondFactorRepository
from puhui.onboarding.tokens import hash_token, new_token
from puhui.onboarding.totp import new_totp_secret, provisioning_uri, verify_totp
from puhui.tenancy.models import Member
from puhui.tenancy.subject import AuthSubject

__all__ = [
    "CHALLENGE_TTL",
    "MAX_CHALLENGE_ATTEMPTS",
    "Enrolment",
    "SecondFactorService",
    "answer_challenge",
    "open_challenge",
    "second_factor_required",
]

CHALLENGE_TTL = timedelta(minutes=5)
MAX_CHALLENGE_ATTEMPTS = 5


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    enabled: bool


class SecondFactorService:
    """The signed-in member's own second factor."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.factors = SecondFactorRepository(session)

    def _member_id(self) -> uuid.UUID:
        if self.subject.member_id is None:
            raise AuthenticationRequired()
        return self.subject.member_id

    async def status(self, email: str) -> Enrolment | None:
        factor = await self.factors.of_member(self._member_id())
        if factor is None or factor.secret is None:
            return None
        return Enrolment(
            factor.secret, provisioning_uri(factor.secret, email), factor.enabled_at is not None
        )

    async def start(self, email: str) -> Enrolment:
        """A new (not yet enabled) secret; replaces an unconfirmed one."""
        factor = await self.factors.of_member(self._member_id())
        if factor is not None and factor.enabled_at is not None:
            raise Conflict("A second factor is already enabled; disable it first.")
        if factor is None:
            factor = self.factors.add(
                SecondFactor(tenant_id=self.subject.tenant_id, member_id=self._member_id())
            )
        secret = new_totp_secret()
        factor.secret = secret
        await self.factors.flush()
        return Enrolment(secret, provisioning_uri(secret, email), False)

    async def confirm(self, code: str) -> None:
        factor = await self.factors.of_member(self._member_id())
        if factor is None or factor.secret is None:
            raise Conflict("Start enrolment first.")
        if not verify_totp(factor.secret, code):
            raise InvalidRequest(errors=[FieldError("code", "the code does not match")])
        factor.enabled_at = utcnow()
        record_event(
            self.session,
            "onboarding.second_factor_enabled",
            subject=self.subject,
            target_tenant_id=self.subject.tenant_id,
            target=f"member:{self._member_id()}",
        )

    async def disable(self, code: str) -> None:
        factor = await self.factors.of_member(self._member_id())
        if factor is None or factor.enabled_at is None or factor.secret is None:
            raise Conflict("No second factor is enabled.")
        if not verify_totp(factor.secret, code):
            raise InvalidRequest(errors=[FieldError("code", "the code does not match")])
        await self.session.delete(factor)
        record_event(
            self.session,
            "onboarding.second_factor_disabled",
            subject=self.subject,
            target_tenant_id=self.subject.tenant_id,
            target=f"member:{self._member_id()}",
        )


async def second_factor_required(session: AsyncSession, member: Member) -> bool:
    with tenant_bypass(session, reason="identity.second_factor_lookup"):
        factor = await SecondFactorRepository(session).of_member(member.id)
    return factor is not None and factor.enabled_at is not None


async def open_challenge(session: AsyncSession, member: Member) -> str:
    """After a correct password: a short-lived challenge token for the TOTP step."""
    token, token_hash = new_token()
    session.add(
        SignInChallenge(
            token_hash=token_hash,
            member_id=member.id,
            tenant_id=member.tenant_id,
            expires_at=utcnow() + CHALLENGE_TTL,
        )
    )
    await session.flush()
    return token


async def answer_challenge(
    session: AsyncSession, token: str, code: str, client_ip: str | None
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(member id, tenant id) for a right code; None for a wrong one (attempts are counted).

    Raises AuthenticationRequired when the challenge is unknown, used, expired or exhausted.
    """
    with tenant_bypass(session, reason="identity.second_factor"):
        challenge = await ChallengeRepository(session).by_hash(hash_token(token))
        now = utcnow()
        if (
            challenge is None
            or challenge.used_at is not None
            or challenge.expires_at <= now
            or challenge.attempts >= MAX_CHALLENGE_ATTEMPTS
        ):
            raise AuthenticationRequired("Sign in again.")
        factor = await SecondFactorRepository(session).of_member(challenge.member_id)
        ok = factor is not None and factor.secret is not None and verify_totp(factor.secret, code)
        record_event(
            session,
            "login.second_factor_succeeded" if ok else "login.second_factor_failed",
            outcome="success" if ok else "failure",
            actor_tenant_id=challenge.tenant_id,
            actor_member_id=challenge.member_id,
            client_ip=client_ip,
        )
        if not ok:
            challenge.attempts += 1
            await session.flush()
            return None
        challenge.used_at = now
        await session.flush()
        return challenge.member_id, challenge.tenant_id
