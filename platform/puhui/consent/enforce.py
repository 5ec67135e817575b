"""Gateway step 9: the token's scopes against the route, and the consent's CURRENT state.

A revoked or expired consent stops access on the very next call, not when the token expires
(JR/T 0269 6.3.2 e), in one worker or many: states come from the consent board.
"""

from __future__ import annotations

from typing import Any

from puhui.consent.status import board_of
from puhui.errors import ProblemError, register_problem
from puhui.gateway.catalogue import ApiSpec
from puhui.tenancy.subject import AuthSubject

__all__ = ["CONSENT_INACTIVE", "INSUFFICIENT_SCOPE", "enforce_consent"]

CONSENT_INACTIVE = register_problem(
    "consent-revoked",
    "Consent revoked or expired",
    403,
    "The customer's consent behind this token was revoked, has expired or is not authorised.",
)
INSUFFICIENT_SCOPE = register_problem(
    "insufficient-scope",
    "Insufficient scope",
    403,
    "The access token lacks a scope this operation requires.",
)


async def enforce_consent(scope: Any, spec: ApiSpec | None, subject: AuthSubject | None) -> None:
    """Raise a 403 problem unless the client's scopes and its consent allow this call now."""
    if subject is None or subject.kind != "client":
        return
    if spec is not None and spec.scopes and not spec.scopes <= subject.scopes:
        raise ProblemError(problem=INSUFFICIENT_SCOPE)
    if subject.consent_id is None:
        return
    state = scope["litestar_app"].state
    session = state.db(subject.tenant_id)
    try:
        current = await board_of(state).current(session, subject.consent_id)
    finally:
        await session.close()
    if (
        current is None
        or current.tenant_id != subject.tenant_id
        or current.client_id != subject.client_id
        or (subject.customer_id is not None and current.customer_user_id != subject.customer_id)
        or not current.is_active()
    ):
        raise ProblemError(problem=CONSENT_INACTIVE)
