"""The consent a read is bound to (JR/T 0269 6.1, 6.3.2 e; architecture decision 4).

The lead builds a :class:`ConsentGrant` from the stored consent resource; connectors only
ever see this value, check it before any fetch and re-check it between pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime

import msgspec

from puhui.clock import utcnow

__all__ = ["ConsentGrant", "always_valid"]


async def always_valid() -> bool:
    """Liveness check for a grant that can only lapse by expiry (tests, bulk replays)."""
    return True


class ConsentGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's consent as connectors see it: who, which data items per source, until when."""

    consent_id: str
    subject_uscc: str
    # data source (connector name) -> granted data items
    data_items: Mapping[str, frozenset[str]]
    valid_until: datetime
    # Re-reads the consent's current state (revocation) from the consent store.
    is_still_valid: Callable[[], Awaitable[bool]] = always_valid

    def __post_init__(self) -> None:
        if self.valid_until.tzinfo is None:
            raise ValueError("valid_until must be timezone-aware")

    def missing_items(self, source: str, needed: Iterable[str]) -> frozenset[str]:
        """Items ``needed`` from ``source`` this grant does not cover (minimum necessary, 6.1)."""
        granted = self.data_items.get(source, frozenset())
        return frozenset(needed) - granted

    def permits(self, source: str, needed: Iterable[str]) -> bool:
        return not self.missing_items(source, needed)

    async def still_valid(self) -> bool:
        """False once the grant has expired or its consent was revoked."""
        if utcnow() >= self.valid_until:
            return False
        return await self.is_still_valid()
