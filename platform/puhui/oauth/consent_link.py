"""The OAuth server's two questions to the consent domain, asked through `puhui.consent.gate`.

Imported lazily so the authorization server does not depend on the consent domain at import
time; without it, consent-bound requests fail closed.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.oauth.models import OAuthClient
from puhui.oauth.par import AuthorizationRequestError

__all__ = ["admit_pushed_request", "consent_is_active"]


def _gate() -> Any | None:
    try:
        return importlib.import_module("puhui.consent.gate")
    except ModuleNotFoundError:
        return None


async def admit_pushed_request(session: AsyncSession, client: OAuthClient, consent_id: str) -> None:
    """Let the consent domain admit (or refuse, by raising) a pushed request naming a consent."""
    gate = _gate()
    if gate is None:
        raise AuthorizationRequestError("invalid_request", "consents are not available")
    await gate.admit_pushed_request(session, client, consent_id)


async def consent_is_active(session: AsyncSession, consent_id: uuid.UUID) -> bool:
    """Whether the consent is `authorised` now; False (fail closed) without a consent domain."""
    gate = _gate()
    if gate is None:
        return False
    return bool(await gate.consent_is_active(session, consent_id))
