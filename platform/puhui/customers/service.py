"""Customer sign-in: Argon2 password, then a one-time code through the notifier; lock-out on both.

Failures are counted on the customer and must be committed by the caller even though the call
raises (the pages catch the problem inside their unit of work). JR/T 0269 6.3.2 e: the customer
authenticates at the bank, never at the partner.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.customers.models import CustomerStatus, CustomerUser, OneTimeCode
from puhui.customers.repository import CustomerUserRepository, OneTimeCodeRepository
from puhui.errors import LOCKED, AuthenticationRequired, ProblemError, register_problem
from puhui.identity.passwords import hash_password, needs_rehash, verify_password
from puhui.notify import Notice, Notifier
from puhui.security.keyring import keyring

__all__ = [
    "CODE_EXPIRED",
    "CODE_LIFETIME",
    "CODE_MAX_ATTEMPTS",
    "CODE_WRONG",
    "authenticate_customer",
    "send_one_time_code",
    "verify_one_time_code",
]

CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 5
_WRONG = "Phone number or password is wrong."

CODE_WRONG = register_problem(
    "one-time-code-wrong", "Wrong one-time code", 401, "The one-time code does not match."
)
CODE_EXPIRED = register_problem(
    "one-time-code-expired",
    "One-time code no longer valid",
    401,
    "The one-time code expired, was used or had too many attempts; request a new one.",
)


def _locked(user: CustomerUser, now: datetime) -> ProblemError | None:
    if user.locked_until is None or user.locked_until <= now:
        return None
    seconds = max(1, int((user.locked_until - now).total_seconds()))
    return ProblemError(problem=LOCKED, headers={"Retry-After": str(seconds)})


def _count_failure(user: CustomerUser, settings: Settings, now: datetime) -> bool:
    """One more failure; locks the customer out after ``login_max_failures``. True if now locked."""
    user.failed_logins += 1
    if user.failed_logins < settings.login_max_failures:
        return False
    user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
    user.failed_logins = 0
    return True


async def authenticate_customer(
    session: AsyncSession, settings: Settings, phone: str, password: str
) -> CustomerUser:
    """The customer for a valid phone + password; raises (after counting) otherwise."""
    user = await CustomerUserRepository(session).by_phone(phone.strip())
    now = utcnow()
    if user is None:
        verify_password(None, password)  # same work as a real check: no account probing
        record_event(
            session, "customer.login.failed", outcome="failure", details={"reason": "unknown"}
        )
        raise AuthenticationRequired(_WRONG)
    target = f"customer:{user.id}"
    locked = _locked(user, now)
    if locked is not None:
        record_event(session, "customer.login.locked", outcome="failure", target=target)
        raise locked
    if user.status is not CustomerStatus.ACTIVE or not verify_password(
        user.password_hash, password
    ):
        now_locked = _count_failure(user, settings, now)
        record_event(
            session,
            "customer.login.failed",
            outcome="failure",
            target=target,
            details={"locked": now_locked},
        )
        raise _locked(user, now) if now_locked else AuthenticationRequired(_WRONG)  # type: ignore[misc]
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event(session, "customer.login.password_ok", target=target)
    return user


def _code_hash(code_id: uuid.UUID, code: str) -> str:
    # Keyed HMAC bound to the row: a database dump alone cannot test the 10^6 candidates.
    return keyring().blind_index(f"{code_id}:{code}", "customer-one-time-code")


async def send_one_time_code(
    session: AsyncSession, notifier: Notifier, user: CustomerUser
) -> OneTimeCode:
    """Mint a six-digit code, keep only its hash, and send it to the customer's phone."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = OneTimeCode(
        id=uuid.uuid4(),
        customer_user_id=user.id,
        expires_at=utcnow() + CODE_LIFETIME,
        attempts=0,
        max_attempts=CODE_MAX_ATTEMPTS,
    )
    row.code_hash = _code_hash(row.id, code)
    OneTimeCodeRepository(session).add(row)
    await session.flush()  # sessions refer to the code row by id
    phone = user.phone
    if phone is None:
        raise AuthenticationRequired("This account has no phone number for a one-time code.")
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    await notifier.deliver(
        session,
        Notice(
            recipient_id=user.id,
            address=phone,
            body=(
                f"【普惠银行】验证码 {code}，{minutes} 分钟内有效，请勿告诉他人。"
                f" Puhui Bank code {code}, valid {minutes} minutes. Never share it."
            ),
        ),
    )
    record_event(session, "customer.code.sent", target=f"customer:{user.id}")
    return row


async def verify_one_time_code(
    session: AsyncSession, settings: Settings, user: CustomerUser, code_id: uuid.UUID, code: str
) -> None:
    """Accept the code once; wrong codes count towards the code's attempts and the lock-out."""
    now = utcnow()
    target = f"customer:{user.id}"
    locked = _locked(user, now)
    if locked is not None:
        raise locked
    row = await session.get(OneTimeCode, code_id)
    if row is None or row.customer_user_id != user.id:
        raise ProblemError(problem=CODE_EXPIRED)
    if row.consumed_at is not None or row.expires_at <= now or row.attempts >= row.max_attempts:
        record_event(session, "customer.code.refused", outcome="failure", target=target)
        raise ProblemError(problem=CODE_EXPIRED)
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _code_hash(row.id, code.strip())):
        now_locked = _count_failure(user, settings, now)
        record_event(
            session,
            "customer.code.wrong",
            outcome="failure",
            target=target,
            details={"attempts": row.attempts, "locked": now_locked},
        )
        if now_locked:
            raise _locked(user, now)  # type: ignore[misc]
        if row.attempts >= row.max_attempts:
            raise ProblemError(problem=CODE_EXPIRED)
        raise ProblemError(problem=CODE_WRONG)
    row.consumed_at = now
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record_event(session, "customer.login.succeeded", target=target)
