"""RFC 9449 DPoP: proof verification, stateless server nonces, and token-to-key binding.

FAPI 2.0 requires sender-constrained tokens; DPoP binds each access token to the client's
key (`cnf.jkt`) and every request carries a fresh, single-use proof signed by that key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from puhui.clock import utcnow
from puhui.oauth.jwt_tokens import CompactJWS, parse_compact_jws, signature_check
from puhui.oauth.keys import (
    PRIVATE_JWK_MEMBERS,
    InvalidJWK,
    PublicKey,
    PublicKeyCache,
    b64url,
)
from puhui.oauth.stores import ReplayCache

__all__ = [
    "DPOP_ALGORITHMS",
    "DPOP_NONCE_HEADER",
    "DPOP_TYP",
    "DPoPBindingMismatch",
    "DPoPError",
    "DPoPNonces",
    "DPoPProof",
    "DPoPVerifier",
    "InvalidDPoPProof",
    "UseDPoPNonce",
    "access_token_hash",
    "confirm_binding",
    "normalize_htu",
    "single_proof",
]

DPOP_TYP: Final = "dpop+jwt"
DPOP_NONCE_HEADER: Final = "DPoP-Nonce"
DPOP_ALGORITHMS: Final[frozenset[str]] = frozenset({"ES256", "EdDSA", "PS256"})
_MAX_JTI_LENGTH: Final = 256
_NONCE_SLOT_BYTES: Final = 8
_NONCE_MAC_BYTES: Final = 16
_DEFAULT_PORTS: Final[Mapping[str, int]] = {"http": 80, "https": 443}
_PERCENT_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class DPoPError(Exception):
    """A DPoP failure, carrying the OAuth `error` code the response must use."""

    error: str = "invalid_dpop_proof"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidDPoPProof(DPoPError):
    """The proof is malformed, mis-signed, stale, replayed, or for another request."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(DPoPError):
    """The proof lacks a current server nonce; send `nonce` in the `DPoP-Nonce` header."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce


class DPoPBindingMismatch(DPoPError):
    """The access token is not bound to the key that signed the proof (RFC 9449 7.1)."""

    error = "invalid_token"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def access_token_hash(access_token: str) -> str:
    """The `ath` claim: base64url of SHA-256 over the access token's ASCII (RFC 9449 4.2)."""
    return b64url(hashlib.sha256(access_token.encode()).digest())  # ASCII in, so UTF-8 is same


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4."""
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = "/" if path.endswith(("/.", "/..")) else ""
    return "/" + "/".join(output) + trailing


@functools.lru_cache(maxsize=1024)  # a client sends the same few URIs; the server's are fixed
def normalize_htu(uri: str) -> str:
    """The URI as `htu` compares it: no query or fragment, RFC 3986 6.2.2/6.2.3 normalised."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("htu must be an absolute http(s) URI")
    if parts.username is not None or parts.password is not None:
        raise ValueError("htu must not carry user information")
    host = parts.hostname  # already lower-cased by urlsplit
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # raises ValueError on a malformed port
    authority = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _PERCENT_ESCAPE.sub(_normalize_escape, parts.path) or "/"
    return f"{scheme}://{authority}{_remove_dot_segments(path)}"


def single_proof(header_values: Sequence[str]) -> str:
    """The one `DPoP` header value; RFC 9449 4.3 step 1 refuses none or several."""
    if len(header_values) != 1 or not header_values[0]:
        raise InvalidDPoPProof("exactly one DPoP header is required")
    return header_values[0]


class DPoPNonces:
    """Stateless rotating nonces: HMAC over the time slot, valid for the current and last slot.

    Any worker holding the secret issues and checks them, so no nonce storage is shared.
    The first secret signs; all listed secrets verify (to rotate the secret itself).
    """

    def __init__(
        self,
        secrets: Sequence[bytes],
        *,
        window: timedelta = timedelta(minutes=5),
        realm: str = "",
    ) -> None:
        if not secrets or any(len(secret) < 32 for secret in secrets):
            raise ValueError("DPoP nonce secrets must be at least 32 bytes")
        if window < timedelta(seconds=1):
            raise ValueError("window must be at least one second")
        self._secrets = tuple(secrets)
        self._window = int(window.total_seconds())
        self._realm = realm.encode()  # separates authorization-server and resource nonces

    def _slot(self, now: datetime) -> int:
        return int(now.timestamp()) // self._window

    def _mac(self, secret: bytes, slot_bytes: bytes) -> bytes:
        return hmac.digest(secret, self._realm + b"|" + slot_bytes, "sha256")[:_NONCE_MAC_BYTES]

    def current(self, now: datetime | None = None) -> str:
        """The nonce to send in the `DPoP-Nonce` header now."""
        slot_bytes = self._slot(now or utcnow()).to_bytes(_NONCE_SLOT_BYTES, "big")
        return b64url(slot_bytes + self._mac(self._secrets[0], slot_bytes))

    def is_valid(self, nonce: str, now: datetime | None = None) -> bool:
        """Whether `nonce` was issued by us in the current or the previous slot."""
        try:
            raw = _b64url_decode(nonce)
        except ValueError:
            return False
        if len(raw) != _NONCE_SLOT_BYTES + _NONCE_MAC_BYTES:
            return False
        slot_bytes, mac = raw[:_NONCE_SLOT_BYTES], raw[_NONCE_SLOT_BYTES:]
        age = self._slot(now or utcnow()) - int.from_bytes(slot_bytes, "big")
        if age not in (0, 1):
            return False
        return any(hmac.compare_digest(mac, self._mac(s, slot_bytes)) for s in self._secrets)


_CheckedHeader = tuple[str, Callable[[bytes, bytes], bool]]
"""A proof header that passed the checks: key thumbprint, signature check for its alg."""


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A verified proof: the key's thumbprint `jkt` is what tokens are bound to."""

    jkt: str
    jwk: Mapping[str, Any]
    jti: str
    htm: str
    htu: str
    issued_at: datetime
    nonce: str | None


class DPoPVerifier:
    """Checks DPoP proofs per RFC 9449 4.3 for one endpoint family (token or resource)."""

    def __init__(
        self,
        replay_cache: ReplayCache,
        *,
        nonces: DPoPNonces | None = None,
        require_nonce: bool = False,
        algorithms: Collection[str] = DPOP_ALGORITHMS,
        max_age: timedelta = timedelta(seconds=60),
        clock_skew: timedelta = timedelta(seconds=5),
        key_cache_size: int = 1024,
    ) -> None:
        if require_nonce and nonces is None:
            raise ValueError("require_nonce needs a DPoPNonces")
        if unknown := set(algorithms) - DPOP_ALGORITHMS:
            raise ValueError(f"algorithms not allowed for DPoP: {sorted(unknown)}")
        self._replay_cache = replay_cache
        self._nonces = nonces
        self._require_nonce = require_nonce
        self._algorithms = frozenset(algorithms)
        self._max_age = max_age
        self._clock_skew = clock_skew
        self._keys = PublicKeyCache(key_cache_size)
        # A client's proofs share one JOSE header (typ, alg, jwk) byte for byte: its checks,
        # key, thumbprint and prepared signature check are kept per raw header segment
        # (bounded, least recent out). The key is public; every proof's signature is checked.
        self._headers: OrderedDict[bytes, _CheckedHeader] = OrderedDict()
        self._headers_max = key_cache_size

    def _public_key(self, jwk: Mapping[str, Any], alg: str) -> tuple[str, PublicKey]:
        # RFC 9449 4.3 step 7: the header must hold a public key, never private material.
        if PRIVATE_JWK_MEMBERS.intersection(jwk):
            raise InvalidDPoPProof("jwk header must not contain a private key")
        try:
            return self._keys.get(jwk, alg)
        except InvalidJWK as exc:
            raise InvalidDPoPProof(f"jwk header is not usable: {exc}") from exc

    async def verify(
        self,
        proof: str,
        *,
        method: str,
        uri: str,
        access_token: str | None = None,
    ) -> DPoPProof:
        """Verify `proof` for this request; pass `access_token` on resource calls (checks `ath`)."""
        now = utcnow()
        jws, jkt, claims = self._signed_content(proof)
        issued_at = self._check_claims(claims, method=method, uri=uri, now=now)
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str) or not hmac.compare_digest(
                ath, access_token_hash(access_token)
            ):
                raise InvalidDPoPProof("ath does not match the access token")
        nonce = self._check_nonce(claims.get("nonce"), now)
        jti: str = claims["jti"]
        # Last, so that a refused proof does not use up its jti.
        if not await self._replay_cache.remember(f"dpop:{jkt}:{jti}", issued_at + self._max_age):
            raise InvalidDPoPProof("DPoP proof jti was already used")
        return DPoPProof(
            jkt=jkt,
            jwk=dict(jws.header["jwk"]),
            jti=jti,
            htm=claims["htm"],
            htu=claims["htu"],
            issued_at=issued_at,
            nonce=nonce,
        )

    def _signed_content(self, proof: str) -> tuple[CompactJWS, str, dict[str, Any]]:
        """The proof parsed, its header checked and its signature verified: (the JWS, its key's
        thumbprint, its claims). What follows in `verify` binds it to the request."""
        try:
            jws = parse_compact_jws(proof)
        except ValueError as exc:
            raise InvalidDPoPProof("DPoP proof is not a well-formed JWT") from exc
        jkt, signature_valid = self._checked_header(jws)
        if not signature_valid(jws.signing_input, jws.signature):
            raise InvalidDPoPProof("DPoP proof signature is invalid")
        try:
            claims = jws.claims()
        except ValueError as exc:
            raise InvalidDPoPProof("DPoP proof payload is not a JSON object") from exc
        return jws, jkt, claims

    def _checked_header(self, jws: CompactJWS) -> _CheckedHeader:
        """The proof key's thumbprint and signature check (for the header's pinned alg), after
        the RFC 9449 4.3 header checks (remembered per raw header: they depend on nothing else).
        """
        segment = jws.signing_input.partition(b".")[0]
        cached = self._headers.get(segment)
        if cached is not None:
            self._headers.move_to_end(segment)
            return cached
        alg, jkt, key = self._header_key(jws.header)
        checked = self._headers[segment] = (jkt, signature_check(alg, key))
        if len(self._headers) > self._headers_max:
            self._headers.popitem(last=False)
        return checked

    def _header_key(self, header: Mapping[str, Any]) -> tuple[str, str, PublicKey]:
        """The RFC 9449 4.3 header checks; the pinned alg, the key's thumbprint and the key."""
        if not isinstance(header.get("typ"), str) or header["typ"].lower() != DPOP_TYP:
            raise InvalidDPoPProof("typ must be dpop+jwt")
        if "crit" in header:
            raise InvalidDPoPProof("critical header extensions are not supported")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidDPoPProof(f"algorithm {alg!r} is not allowed")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise InvalidDPoPProof("jwk header is missing")
        jkt, key = self._public_key(jwk, alg)
        return alg, jkt, key

    def _check_claims(
        self, claims: Mapping[str, Any], *, method: str, uri: str, now: datetime
    ) -> datetime:
        get = claims.get
        jti, htm, htu, iat = get("jti"), get("htm"), get("htu"), get("iat")
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI_LENGTH:
            raise InvalidDPoPProof("jti is missing")
        if not isinstance(htm, str) or htm != method:
            raise InvalidDPoPProof("htm does not match the request method")
        try:
            htu_matches = isinstance(htu, str) and normalize_htu(htu) == normalize_htu(uri)
        except ValueError:
            htu_matches = False
        if not htu_matches:
            raise InvalidDPoPProof("htu does not match the request URI")
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise InvalidDPoPProof("iat is missing")
        issued_at = datetime.fromtimestamp(iat, UTC)
        if not now - self._max_age <= issued_at <= now + self._clock_skew:
            raise InvalidDPoPProof("iat is outside the accepted window")
        return issued_at

    def _check_nonce(self, nonce: object, now: datetime) -> str | None:
        if nonce is not None and not isinstance(nonce, str):
            raise InvalidDPoPProof("nonce must be a string")
        if not self._require_nonce or self._nonces is None:
            return nonce
        if nonce is None:
            raise UseDPoPNonce("a DPoP nonce is required", self._nonces.current(now))
        if not self._nonces.is_valid(nonce, now):
            raise UseDPoPNonce("the DPoP nonce is not current", self._nonces.current(now))
        return nonce


def confirm_binding(
    token_jkt: str | None, proof: DPoPProof | None, *, require_binding: bool = True
) -> None:
    """Check an access token's `cnf.jkt` against the proof key (RFC 9449 6.1, 7.1).

    FAPI 2.0 Security Profile 5.3.2.1 wants sender-constrained tokens, hence `require_binding`.
    """
    if token_jkt is None:
        if require_binding:
            raise DPoPBindingMismatch("access token is not sender-constrained")
        return
    if proof is None:
        raise DPoPBindingMismatch("access token is DPoP-bound; a DPoP proof is required")
    if not hmac.compare_digest(token_jkt, proof.jkt):
        raise DPoPBindingMismatch("DPoP proof key does not match the access token binding")
