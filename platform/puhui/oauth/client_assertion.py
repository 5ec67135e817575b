"""private_key_jwt client authentication (RFC 7523 section 3, RFC 7521) at FAPI 2.0 grade.

FAPI 2.0 Security Profile 5.3.2.1: the assertion's `aud` must be the issuer identifier, as a
single string; the token-endpoint URL or an array is refused, closing the audience-injection
attack. Client keys come from an inline JWKS or a JWKS URI fetched through `JWKSFetcher`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from puhui.clock import utcnow
from puhui.oauth.jwt_tokens import parse_compact_jws, verify_jws_signature
from puhui.oauth.keys import InvalidJWK, PublicKey, PublicKeyCache
from puhui.oauth.stores import ReplayCache

__all__ = [
    "CLIENT_ASSERTION_ALGORITHMS",
    "CLIENT_ASSERTION_TYPE",
    "ClientAssertionVerifier",
    "ClientJWKSResolver",
    "ClientKeys",
    "InvalidClientAssertion",
    "JWKSFetcher",
    "JWKSUnavailable",
    "VerifiedClientAssertion",
]

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ASSERTION_ALGORITHMS: Final[frozenset[str]] = frozenset({"ES256", "PS256", "EdDSA"})
# Typ values a client assertion may carry; any other (at+jwt, dpop+jwt, ...) is another JWT kind.
_ACCEPTED_TYP: Final = frozenset({"jwt", "client-authentication+jwt"})
_KTY_FOR_ALG: Final[Mapping[str, str]] = {"ES256": "EC", "PS256": "RSA", "EdDSA": "OKP"}
_MAX_JTI_LENGTH: Final = 256
_MAX_JWKS_KEYS: Final = 32


class InvalidClientAssertion(Exception):
    """Client authentication failed (`invalid_client`); `reason` is for logs, not the client."""

    error: Final = "invalid_client"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JWKSUnavailable(Exception):
    """Raised by a `JWKSFetcher` when the client's JWKS URI cannot be fetched or parsed."""


class JWKSFetcher(Protocol):
    """Fetches a client's JWK Set document (the lead's httpx implementation: timeouts, TLS)."""

    async def fetch(self, jwks_uri: str) -> Mapping[str, Any]:
        """The JWKS JSON object; raise `JWKSUnavailable` on any failure."""
        ...


@dataclass(frozen=True, slots=True)
class ClientKeys:
    """Where a registered client's public keys are: an inline JWKS or a JWKS URI, not both."""

    client_id: str
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None

    def __post_init__(self) -> None:
        if (self.jwks is None) == (self.jwks_uri is None):
            raise ValueError("a client has exactly one of jwks and jwks_uri")


def _jwks_keys(document: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    keys = document.get("keys")
    if not isinstance(keys, list) or len(keys) > _MAX_JWKS_KEYS:
        raise InvalidClientAssertion("client JWKS has no usable 'keys' list")
    return tuple(key for key in keys if isinstance(key, dict))


@dataclass(slots=True)
class _FetchedJWKS:
    keys: tuple[Mapping[str, Any], ...]
    fetched_at: datetime


class ClientJWKSResolver:
    """Client signing keys, with JWKS URI documents cached and refreshed on an unknown `kid`."""

    def __init__(
        self,
        fetcher: JWKSFetcher | None = None,
        *,
        ttl: timedelta = timedelta(minutes=5),
        min_refresh_interval: timedelta = timedelta(seconds=30),
        max_entries: int = 1000,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._max_entries = max_entries
        self._cache: OrderedDict[str, _FetchedJWKS] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def keys(
        self, client: ClientKeys, *, refresh: bool = False
    ) -> tuple[Mapping[str, Any], ...]:
        """The client's JWKs; `refresh` asks for a re-fetch (rate-limited) after a `kid` miss."""
        if client.jwks is not None:
            return _jwks_keys(client.jwks)
        uri = client.jwks_uri
        if uri is None:  # unreachable: ClientKeys holds exactly one of jwks and jwks_uri
            raise InvalidClientAssertion("client has no keys")
        lock = self._locks.setdefault(uri, asyncio.Lock())
        async with lock:  # one fetch per URI at a time; waiters reuse its result
            now = utcnow()
            cached = self._cache.get(uri)
            if cached is not None:
                age = now - cached.fetched_at
                if age < self._ttl and not (refresh and age >= self._min_refresh_interval):
                    self._cache.move_to_end(uri)
                    return cached.keys
            return await self._fetch(uri, now, cached)

    async def _fetch(
        self, uri: str, now: datetime, cached: _FetchedJWKS | None
    ) -> tuple[Mapping[str, Any], ...]:
        if self._fetcher is None:
            raise InvalidClientAssertion("no JWKS fetcher configured for jwks_uri clients")
        try:
            keys = _jwks_keys(await self._fetcher.fetch(uri))
        except (JWKSUnavailable, InvalidClientAssertion) as exc:
            if cached is not None:  # keep serving the last good keys through an outage
                return cached.keys
            raise InvalidClientAssertion("client JWKS is unavailable") from exc
        self._cache[uri] = _FetchedJWKS(keys=keys, fetched_at=now)
        self._cache.move_to_end(uri)
        while len(self._cache) > self._max_entries:
            evicted, _ = self._cache.popitem(last=False)
            self._locks.pop(evicted, None)
        return keys


@dataclass(frozen=True, slots=True)
class VerifiedClientAssertion:
    client_id: str
    jti: str
    expires_at: datetime
    kid: str | None


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClientAssertion(f"claim {name!r} must be a NumericDate")
    return datetime.fromtimestamp(value, UTC)


class ClientAssertionVerifier:
    """Verifies `client_assertion` JWTs for the authorization server named `issuer`."""

    def __init__(
        self,
        *,
        issuer: str,
        replay_cache: ReplayCache,
        resolver: ClientJWKSResolver | None = None,
        algorithms: Collection[str] = CLIENT_ASSERTION_ALGORITHMS,
        max_lifetime: timedelta = timedelta(seconds=60),
        max_age: timedelta = timedelta(minutes=5),
        clock_skew: timedelta = timedelta(seconds=5),
    ) -> None:
        if unknown := set(algorithms) - CLIENT_ASSERTION_ALGORITHMS:
            raise ValueError(f"algorithms not allowed for client assertions: {sorted(unknown)}")
        self._issuer = issuer
        self._replay_cache = replay_cache
        self._resolver = resolver or ClientJWKSResolver()
        self._algorithms = frozenset(algorithms)
        self._max_lifetime = max_lifetime
        self._max_age = max_age
        self._clock_skew = clock_skew
        self._keys = PublicKeyCache()

    async def verify(
        self,
        assertion: str,
        client: ClientKeys,
        *,
        assertion_type: str = CLIENT_ASSERTION_TYPE,
    ) -> VerifiedClientAssertion:
        """Authenticate `client` by its assertion; raises `InvalidClientAssertion`."""
        if assertion_type != CLIENT_ASSERTION_TYPE:
            raise InvalidClientAssertion("client_assertion_type must be jwt-bearer")
        now = utcnow()
        try:
            jws = parse_compact_jws(assertion)
        except ValueError as exc:
            raise InvalidClientAssertion("client assertion is not a well-formed JWT") from exc
        header = jws.header
        typ = header.get("typ")
        if typ is not None and (
            not isinstance(typ, str)
            or typ.lower().removeprefix("application/") not in _ACCEPTED_TYP
        ):
            raise InvalidClientAssertion(f"typ {typ!r} is not a client assertion")
        if "crit" in header:
            raise InvalidClientAssertion("critical header extensions are not supported")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidClientAssertion(f"algorithm {alg!r} is not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidClientAssertion("kid must be a string")
        key = await self._signing_key(client, alg, kid)
        if not verify_jws_signature(jws, alg, key):
            raise InvalidClientAssertion("client assertion signature is invalid")
        try:
            claims = jws.claims()
        except ValueError as exc:
            raise InvalidClientAssertion("client assertion payload is not a JSON object") from exc
        expires_at, jti = self._check_claims(claims, client.client_id, now)
        replay_key = f"client_assertion:{client.client_id}:{jti}"
        if not await self._replay_cache.remember(replay_key, expires_at + self._clock_skew):
            raise InvalidClientAssertion("client assertion jti was already used")
        return VerifiedClientAssertion(
            client_id=client.client_id, jti=jti, expires_at=expires_at, kid=kid
        )

    async def _signing_key(self, client: ClientKeys, alg: str, kid: str | None) -> PublicKey:
        candidates = self._candidates(await self._resolver.keys(client), alg, kid)
        if not candidates and kid is not None and client.jwks_uri is not None:
            # The client may have rotated keys since we cached its JWKS.
            candidates = self._candidates(await self._resolver.keys(client, refresh=True), alg, kid)
        if not candidates:
            raise InvalidClientAssertion("no client key matches the assertion's kid and alg")
        if len(candidates) > 1:
            raise InvalidClientAssertion("several client keys fit; the assertion must name a kid")
        try:
            return self._keys.get(candidates[0], alg)[1]
        except InvalidJWK as exc:
            raise InvalidClientAssertion(f"client key is unusable: {exc}") from exc

    @staticmethod
    def _candidates(
        keys: Sequence[Mapping[str, Any]], alg: str, kid: str | None
    ) -> list[Mapping[str, Any]]:
        return [
            key
            for key in keys
            if key.get("kty") == _KTY_FOR_ALG[alg]
            and key.get("use", "sig") == "sig"
            and key.get("alg", alg) == alg
            and (kid is None or key.get("kid") == kid)
        ]

    def _check_claims(
        self, claims: Mapping[str, Any], client_id: str, now: datetime
    ) -> tuple[datetime, str]:
        # RFC 7523 3 items 1-2: iss and sub are both the client_id.
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise InvalidClientAssertion("iss and sub must both be the client_id")
        # FAPI 2.0 Security Profile 5.3.2.1: aud is the issuer identifier as a string, only.
        if not isinstance(claims.get("aud"), str) or claims["aud"] != self._issuer:
            raise InvalidClientAssertion("aud must be exactly the issuer identifier")
        expires_at = _numeric_date(claims, "exp")
        if expires_at is None:
            raise InvalidClientAssertion("exp is required")
        if expires_at <= now:
            raise InvalidClientAssertion("client assertion expired")
        if expires_at > now + self._max_lifetime + self._clock_skew:
            raise InvalidClientAssertion("exp is too far in the future")
        issued_at = _numeric_date(claims, "iat")
        if issued_at is not None and not (
            now - self._max_age <= issued_at <= now + self._clock_skew
        ):
            raise InvalidClientAssertion("iat is outside the accepted window")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and not_before > now + self._clock_skew:
            raise InvalidClientAssertion("client assertion is not yet valid")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI_LENGTH:
            raise InvalidClientAssertion("jti is required")
        return expires_at, jti
