"""Customer browser sessions: random cookie token, only its hash stored, CSRF derived from it.

Separate from the portal member session (JR/T 0269 6.3.2 e: the customer signs in at the bank).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.customers.models import CustomerSession, SessionKind
from puhui.customers.repository import CustomerSessionRepository
from puhui.security.keyring import keyring

__all__ = [
    "AUTHORIZE_COOKIE",
    "CENTRE_COOKIE",
    "CUSTOMER_SESSION_OPT",
    "csrf_for",
    "end_session",
    "find_session",
    "open_session",
]

AUTHORIZE_COOKIE = "puhui_authorize"
CENTRE_COOKIE = "puhui_customer"
# Route option of every customer page and customer API route: they authenticate with (and check
# the CSRF token of) a customer session, so the gateway's portal CSRF step leaves them alone.
CUSTOMER_SESSION_OPT: dict[str, Any] = {"customer_session": True}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    """The synchronizer token of a session: a keyed hash of its cookie, never stored."""
    return keyring().blind_index(token, "customer-csrf")


async def open_session(
    session: AsyncSession,
    kind: SessionKind,
    *,
    lifetime: timedelta,
    stage: str,
    customer_user_id: uuid.UUID | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[str, CustomerSession]:
    token = secrets.token_urlsafe(32)
    row = CustomerSession(
        token_hash=_hash(token),
        kind=kind,
        stage=stage,
        customer_user_id=customer_user_id,
        context=context or {},
        expires_at=utcnow() + lifetime,
    )
    CustomerSessionRepository(session).add(row)
    await session.flush()
    return token, row


async def find_session(
    session: AsyncSession, token: str | None, kind: SessionKind
) -> CustomerSession | None:
    """The live session of this kind for the cookie, or None (unknown, other kind or expired)."""
    if not token or len(token) > 100:
        return None
    row = await CustomerSessionRepository(session).by_token_hash(_hash(token))
    if row is None or row.kind is not kind or row.expires_at <= utcnow():
        return None
    return row


async def end_session(session: AsyncSession, row: CustomerSession) -> None:
    await session.delete(row)
