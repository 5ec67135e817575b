"""Anomaly alerts: spikes of authentication failures, signature failures, replay attempts and
quota exhaustion per client (sliding-window thresholds) raise an operator alert and a partner
event for the client's tenant (JR/T 0185-2020 security monitoring).

Windows are counted in memory for one process, or in Redis when the platform has one: a sorted
set per (kind, client) holds the window and a NX key the quiet period, both updated by one Lua
script, so the refusals of every worker add up and a spike raises exactly one alert.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from puhui.audit.service import record_event
from puhui.clock import utcnow
from puhui.db.session import SessionFactory
from puhui.security.models import AlertKind, AlertStatus, SecurityAlert
from puhui.webhooks import record_partner_event

__all__ = ["THRESHOLDS", "AnomalyMonitor", "Threshold", "alert_kind_for"]

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Threshold:
    """`count` events within `window_seconds` raise one alert; then quiet for `window_seconds`."""

    count: int
    window_seconds: int


THRESHOLDS: Final[dict[AlertKind, Threshold]] = {
    AlertKind.AUTHENTICATION_FAILURES: Threshold(20, 60),
    AlertKind.SIGNATURE_FAILURES: Threshold(10, 60),
    AlertKind.REPLAY_ATTEMPTS: Threshold(3, 60),
    AlertKind.QUOTA_EXHAUSTION: Threshold(20, 300),
}

_BY_PROBLEM: Final = {
    "signature-invalid": AlertKind.SIGNATURE_FAILURES,
    "signature-expired": AlertKind.SIGNATURE_FAILURES,
    "replay-detected": AlertKind.REPLAY_ATTEMPTS,
    "quota-exhausted": AlertKind.QUOTA_EXHAUSTION,
    "rate-limited": AlertKind.QUOTA_EXHAUSTION,
}


def alert_kind_for(problem_slug: str | None, status: int) -> AlertKind | None:
    """Which anomaly a refused call counts toward (401s of the identity step: authentication)."""
    kind = _BY_PROBLEM.get(problem_slug or "")
    if kind is None and status == 401:
        return AlertKind.AUTHENTICATION_FAILURES
    return kind


# KEYS: window zset, quiet key. ARGV: now, window seconds, threshold, a unique member.
# Returns the window's count when this event raises the alert, else 0.
_OBSERVE_SCRIPT: Final = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('EXPIRE', KEYS[1], window + 1)
local count = redis.call('ZCARD', KEYS[1])
if count < tonumber(ARGV[3]) then return 0 end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', window) then return 0 end
return count
"""


class AnomalyMonitor:
    """Sliding-window counters per (kind, client or address); writes alerts when one spikes."""

    def __init__(
        self,
        db: SessionFactory,
        thresholds: dict[AlertKind, Threshold] | None = None,
        *,
        redis: Redis | None = None,
        prefix: str = "puhui:alerts:",
    ) -> None:
        self._db = db
        self._thresholds = thresholds or THRESHOLDS
        self._events: dict[tuple[AlertKind, str], deque[float]] = {}
        self._quiet_until: dict[tuple[AlertKind, str], float] = {}
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_OBSERVE_SCRIPT) if redis is not None else None

    async def count(self, kind: AlertKind, source: str) -> int | None:
        """`observe`, shared by every worker when Redis is configured."""
        if self._script is None:
            return self.observe(kind, source)
        threshold = self._thresholds[kind]
        base = f"{self._prefix}{{{kind.value}:{source}}}"
        raised = await self._script(
            keys=[f"{base}:w", f"{base}:q"],
            args=[
                f"{utcnow().timestamp():.6f}",
                threshold.window_seconds,
                threshold.count,
                uuid.uuid4().hex,
            ],
        )
        return int(raised) or None

    def observe(self, kind: AlertKind, source: str) -> int | None:
        """Count one event; the window's count when this event crosses the threshold, else None."""
        threshold = self._thresholds[kind]
        now = utcnow().timestamp()
        key = (kind, source)
        window = self._events.setdefault(key, deque())
        window.append(now)
        while window and window[0] <= now - threshold.window_seconds:
            window.popleft()
        if len(window) < threshold.count or self._quiet_until.get(key, 0.0) > now:
            return None
        self._quiet_until[key] = now + threshold.window_seconds
        if len(self._events) > 100_000:  # bounded memory under a flood of distinct sources
            self._events.clear()
        return len(window)

    async def report(
        self,
        kind: AlertKind,
        *,
        tenant_id: uuid.UUID | None,
        client_id: str | None,
        source_ip: str | None,
    ) -> SecurityAlert | None:
        """Count the event and, on a spike, store the alert, its partner event and audit record."""
        occurrences = await self.count(kind, client_id or f"ip:{source_ip}")
        if occurrences is None:
            return None
        threshold = self._thresholds[kind]
        alert = SecurityAlert(
            raised_at=utcnow(),
            kind=kind,
            status=AlertStatus.OPEN,
            tenant_id=tenant_id,
            client_id=client_id,
            source_ip=source_ip,
            occurrences=occurrences,
            window_seconds=threshold.window_seconds,
        )
        async with self._db.unit_of_work(tenant_id) as session:
            session.add(alert)
            await session.flush()
            record_event(
                session,
                "security.alert_raised",
                outcome="alert",
                actor_tenant_id=tenant_id,
                target_tenant_id=tenant_id,
                target=f"security_alert:{alert.id}",
                client_ip=source_ip,
                details={"kind": kind.value, "client_id": client_id, "count": occurrences},
            )
            if tenant_id is not None:
                record_partner_event(
                    session,
                    tenant_id,
                    "security.alert",
                    f"security_alert:{alert.id}",
                    {
                        "alert_id": str(alert.id),
                        "kind": kind.value,
                        "client_id": client_id,
                        "occurrences": occurrences,
                        "window_seconds": threshold.window_seconds,
                    },
                )
        log.warning("security alert %s for %s", kind.value, client_id or source_ip)
        return alert
