"""Client security profiles: what gateway steps 6-8 need about an OAuth client, cached.

A profile is loaded from the `OAuthClient` row once and kept until the row's version stamp
changes: in this process an update invalidates it at once (flush hook); other workers re-check the
stamp (one small select) after `recheck_seconds`. Verification keys are parsed once per version.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from puhui.clock import utcnow
from puhui.db.session import SessionFactory
from puhui.oauth.models import ClientEnvironment, ClientStatus, OAuthClient
from puhui.security.fieldcrypto import field_aad
from puhui.security.httpsig import SignatureKey
from puhui.security.iprules import IpAllowList
from puhui.security.keyring import keyring

__all__ = ["ClientProfile", "ClientProfiles", "signing_secret_aad"]

_HMAC_ALG: Final = "hmac-sha256"
_MAX_IP_VERDICTS: Final = 256  # distinct source addresses remembered per profile version


def signing_secret_aad(client_row_id: uuid.UUID) -> bytes:
    """AAD binding a client's encrypted HMAC signing secret to its row (the `Sealed` convention)."""
    return field_aad("oauth_clients", "signing_secret_enc", client_row_id)


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """A client's security settings at one version: IP rule, signature keys, rate plan."""

    client_id: str
    tenant_id: uuid.UUID
    version: int
    active: bool
    environment: ClientEnvironment
    rate_plan: str
    ip_allowlist: IpAllowList | None  # None: no rule registered (sandbox clients only)
    keys: Mapping[str, SignatureKey] = field(repr=False)
    # The allow-list's verdict per exact address string. A profile is immutable and replaced
    # when the client's row changes, so a verdict lives no longer than the rule it came from.
    _ip_verdicts: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def signature_key(self, keyid: str) -> SignatureKey | None:
        """The client's key under `keyid`: a JWK `kid`, or the client id for its HMAC secret."""
        return self.keys.get(keyid)

    def permits_ip(self, address: str) -> bool:
        """Whether the allow-list admits `address` (True when no rule is registered); an
        address that does not parse is refused."""
        rule = self.ip_allowlist
        if rule is None:
            return True
        verdicts = self._ip_verdicts
        verdict = verdicts.get(address)
        if verdict is None:
            try:
                verdict = rule.permits(address)
            except ValueError:
                verdict = False
            if len(verdicts) >= _MAX_IP_VERDICTS:
                verdicts.clear()
            verdicts[address] = verdict
        return verdict


def _profile(row: OAuthClient) -> ClientProfile:
    keys: dict[str, SignatureKey] = {}
    for jwk in (row.jwks or {}).get("keys", []):
        if not isinstance(jwk, dict) or not jwk.get("kid") or jwk.get("use") == "enc":
            continue
        try:
            key = SignatureKey.from_jwk(jwk)
        except (ValueError, TypeError):
            continue  # a key the gateway cannot use for message signatures is simply not offered
        if key.alg != _HMAC_ALG:  # symmetric keys come only from the sealed signing secret
            keys[str(jwk["kid"])] = key
    if row.signing_secret_enc:
        secret = keyring().decrypt(row.signing_secret_enc, signing_secret_aad(row.id))
        keys[row.client_id] = SignatureKey(_HMAC_ALG, secret, keyid=row.client_id)
    allow = IpAllowList.parse(row.ip_allowlist) if row.ip_allowlist else None
    if allow is None and row.environment is ClientEnvironment.PRODUCTION:
        allow = IpAllowList(())  # JR/T 0185: a production client without a rule reaches nothing
    return ClientProfile(
        client_id=row.client_id,
        tenant_id=row.tenant_id,
        version=row.version,
        active=row.status is not ClientStatus.REVOKED,
        environment=row.environment,
        rate_plan=row.rate_plan,
        ip_allowlist=allow,
        keys=keys,
    )


_registries: weakref.WeakSet[ClientProfiles] = weakref.WeakSet()


class ClientProfiles:
    """Per-process cache of client profiles keyed by client id, invalidated by version stamp."""

    def __init__(self, db: SessionFactory, *, recheck_seconds: float = 5.0) -> None:
        self._db = db
        self._recheck = recheck_seconds
        self._cache: dict[str, tuple[ClientProfile, float]] = {}
        _registries.add(self)

    def invalidate(self, client_id: str) -> None:
        self._cache.pop(client_id, None)

    async def get(self, tenant_id: uuid.UUID, client_id: str) -> ClientProfile | None:
        """The current profile of the tenant's client, or None when no such client exists."""
        now = utcnow().timestamp()
        cached = self._cache.get(client_id)
        if cached is not None and cached[0].tenant_id == tenant_id:
            profile, checked_at = cached
            if now - checked_at < self._recheck:
                return profile
            self._cache[client_id] = (profile, now)  # one re-check at a time, not a stampede
            async with self._db.unit_of_work(tenant_id) as session:
                version = await session.scalar(
                    select(OAuthClient.version).where(OAuthClient.client_id == client_id)
                )
            if version == profile.version:
                self._cache[client_id] = (profile, now)
                return profile
        async with self._db.unit_of_work(tenant_id) as session:
            row = await session.scalar(
                select(OAuthClient).where(OAuthClient.client_id == client_id)
            )
            fresh = _profile(row) if row is not None else None
        if fresh is None:
            self._cache.pop(client_id, None)
            return None
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[client_id] = (fresh, now)
        return fresh


@event.listens_for(Session, "before_flush")
def _invalidate_changed_clients(session: Session, _ctx: Any, _instances: Any) -> None:
    # An update in this process takes effect on the next call, not after the recheck interval.
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, OAuthClient):
            for registry in _registries:
                registry.invalidate(obj.client_id)
