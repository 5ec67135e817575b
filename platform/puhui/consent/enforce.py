"""Gateway step 9: the token's scopes against the route, the consent's CURRENT state, and its
use frequency.

A revoked or expired consent stops access on the very next call, not when the token expires
(JR/T 0269 6.3.2 e), in one worker or many: states come from the consent board. Each call to an
operation that declares scopes is one use of the consent; past its uses per day the call is
refused (429 ``consent-use-limit``) until the next bank day (`puhui.consent.usage`).
"""

from __future__ import annotations

from typing import Any

from puhui.clock import utcnow
from puhui.consent.status import board_of
from puhui.consent.usage import seconds_to_next_bank_day, uses_of
from puhui.errors import ProblemError, register_problem
from puhui.gateway.catalogue import ApiSpec
from puhui.tenancy.subject import AuthSubject

__all__ = ["CONSENT_INACTIVE", "CONSENT_USE_LIMIT", "INSUFFICIENT_SCOPE", "enforce_consent"]

CONSENT_INACTIVE = register_problem(
    "consent-revoked",
    "Consent revoked or expired",
    403,
    "The customer's consent behind this token was revoked, has expired or is not authorised.",
)
CONSENT_USE_LIMIT = register_problem(
    "consent-use-limit",
    "Consent use limit reached",
    429,
    "The customer allowed this consent to be used only so many times per day; try again "
    "after the time in Retry-After.",
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
    if spec is None or not spec.scopes or current.uses_per_day <= 0:
        return  # not a use of the granted data (or no limit known)
    now = utcnow()
    used = await uses_of(state).record(current.consent_id, now)
    if used > current.uses_per_day:
        raise ProblemError(
            f"This consent allows {current.uses_per_day} uses per day; all are used.",
            problem=CONSENT_USE_LIMIT,
            headers={"Retry-After": str(seconds_to_next_bank_day(now))},
        )
