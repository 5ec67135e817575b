"""The gateway's process-wide security state, built once per app (`app.state.gateway`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from puhui.audit.writer import AuditWriter
from puhui.config import Settings
from puhui.db.session import SessionFactory
from puhui.gateway.client_profiles import ClientProfiles
from puhui.oauth.keys import KeyRing, load_or_create
from puhui.security.alerts import AnomalyMonitor
from puhui.security.iprules import TrustedProxies
from puhui.security.nonces import MemoryNonceStore, NonceStore, RedisNonceStore
from puhui.security.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

__all__ = ["RESPONSE_SIGNING_PURPOSE", "GatewayControls"]

# The keyset (in settings.key_dir) whose active key signs A2 responses; /jwks.json publishes it.
RESPONSE_SIGNING_PURPOSE = "response-signing"


@dataclass(frozen=True, slots=True)
class GatewayControls:
    """Nonce store, rate limiter, client profiles, audit writer, response key and monitor."""

    settings: Settings
    nonces: NonceStore
    limiter: RateLimiter
    profiles: ClientProfiles
    audit: AuditWriter
    response_keys: KeyRing
    proxies: TrustedProxies
    monitor: AnomalyMonitor

    @classmethod
    def build(cls, settings: Settings, db: SessionFactory, redis: Any = None) -> GatewayControls:
        """Memory stores by default; Redis (shared by every worker) when settings.redis_url."""
        load_or_create(settings.key_dir, purpose=RESPONSE_SIGNING_PURPOSE)
        cidrs = [c for c in settings.trusted_proxies.split(",") if c.strip()]
        return cls(
            settings=settings,
            nonces=RedisNonceStore(redis) if redis is not None else MemoryNonceStore(),
            limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
            profiles=ClientProfiles(db),
            audit=AuditWriter(
                db.engine, batch_size=settings.audit_batch_size, flush_ms=settings.audit_flush_ms
            ),
            response_keys=KeyRing(settings.key_dir, purpose=RESPONSE_SIGNING_PURPOSE),
            proxies=TrustedProxies.parse(cidrs),
            monitor=AnomalyMonitor(db, redis=redis),
        )
