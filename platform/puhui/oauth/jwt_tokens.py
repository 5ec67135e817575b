"""RFC 9068 JWT access tokens signed by the bank's keyset, a verified-token cache, opaque tokens.

Verification pins algorithms to an allow-list and takes the key only from the bank's keyset
by `kid`, so `alg: none`, HS256-keyed-with-the-public-key and foreign-key forgeries all fail.
Times come from `puhui.clock`, never from PyJWT's wall clock.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import Algorithm, get_default_algorithms

from puhui.clock import utcnow
from puhui.oauth.keys import SIGNING_ALGORITHMS, KeysetSource, PublicKey, SigningKey, b64url

__all__ = [
    "ACCESS_TOKEN_TYP",
    "AUTHORIZATION_CODE_PREFIX",
    "MAX_ACCESS_TOKEN_LIFETIME",
    "REFRESH_TOKEN_PREFIX",
    "AccessTokenClaims",
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "CompactJWS",
    "InvalidAccessToken",
    "IssuedAccessToken",
    "SignedJWTRejected",
    "VerifiedTokenCache",
    "decode_signed_by_keyset",
    "hash_token",
    "new_authorization_code",
    "new_refresh_token",
    "parse_compact_jws",
    "sign_with_keyset",
    "signature_check",
    "verify_jws_signature",
]

ACCESS_TOKEN_TYP: Final = "at+jwt"  # noqa: S105  # RFC 9068 2.1: a media type, not a secret
MAX_ACCESS_TOKEN_LIFETIME: Final = timedelta(seconds=600)
DEFAULT_ACCESS_TOKEN_LIFETIME: Final = timedelta(seconds=300)
REFRESH_TOKEN_PREFIX: Final = "phr_"  # noqa: S105  # a recognisable prefix, not a secret
AUTHORIZATION_CODE_PREFIX: Final = "phc_"
_OPAQUE_TOKEN_BYTES: Final = 32
MAX_JWT_LENGTH: Final = 16_384  # refuse oversized input before any decoding work
_B64URL_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# PyJWT's algorithm objects do the cryptography; only these, looked up by the *key's* alg.
_ALGORITHMS: Final[Mapping[str, Algorithm]] = {
    name: algorithm
    for name, algorithm in get_default_algorithms().items()
    if name in SIGNING_ALGORITHMS
}
_ES256: Final = ec.ECDSA(hashes.SHA256())  # stateless, so one instance serves every call
_FROM_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")
_PADDING: Final = (b"", b"", b"==", b"=")  # by length % 4; a remainder of 1 is refused first
_JSON: Final = msgspec.json.Decoder()
# json.loads and msgspec hit the recursion limit at slightly different depths; a payload that
# could nest this deep goes to json.loads alone (brackets inside strings count too: harmless).
_MAX_FAST_JSON_BRACKETS: Final = 256


class SignedJWTRejected(Exception):
    """A JWT claiming to be signed by the bank failed verification; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidAccessToken(SignedJWTRejected):
    """The bearer's access token is not acceptable (RFC 6750 `invalid_token`)."""

    error: Final = "invalid_token"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _from_epoch(value: object, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SignedJWTRejected(f"claim {name!r} must be a NumericDate")
    return datetime.fromtimestamp(value, UTC)


def _media_type(typ: object) -> str | None:
    """Normalise a JOSE `typ` (RFC 7515 4.1.9: case-insensitive, `application/` optional)."""
    if not isinstance(typ, str):
        return None
    lowered = typ.lower()
    return lowered.removeprefix("application/")


def _segment(segment: bytes) -> bytes:
    """Strict, canonical base64url (RFC 7515 2): one string per value, no padding or junk."""
    rest = len(segment) % 4
    # Deleting the alphabet leaves nothing iff every byte is base64url (a regex is slower).
    if rest == 1 or segment.translate(None, _B64URL_ALPHABET):
        raise ValueError("segment is not base64url")
    # What base64.urlsafe_b64decode/encode do, minus their Python wrappers (every request).
    decoded = binascii.a2b_base64(segment.translate(_FROM_URLSAFE) + _PADDING[rest])
    if b64url(decoded) != segment.decode("ascii"):  # ASCII: checked above
        raise ValueError("segment is not canonical base64url")
    return decoded


def _json_loads(data: bytes) -> Any:
    """`json.loads(data)`, value for value and error for error, msgspec first (4x faster).

    Where msgspec accepts a document, json.loads gives the same value; what msgspec refuses
    (NaN, Infinity, lone surrogates, a BOM or UTF-16, malformed text) is left to json.loads,
    which accepts or refuses it as it always did (tests/unit/oauth/test_identity_fastpath.py).
    """
    if data.count(b"[") + data.count(b"{") > _MAX_FAST_JSON_BRACKETS:
        return json.loads(data)
    try:
        return _JSON.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return json.loads(data)


@dataclass(frozen=True, slots=True)
class CompactJWS:
    """A JWS in compact serialisation, split and decoded once, signature not yet checked."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    def claims(self) -> dict[str, Any]:
        claims = _json_loads(self.payload)
        if not isinstance(claims, dict):
            raise ValueError("JWT payload is not a JSON object")
        return claims


@functools.lru_cache(maxsize=1024)  # a signer's tokens share one header, byte for byte
def _header(segment: bytes) -> dict[str, Any]:
    """The decoded JOSE header; shared between tokens with the same header, so read-only."""
    header = json.loads(_segment(segment))
    if not isinstance(header, dict):
        raise ValueError("JOSE header is not a JSON object")
    return header


def parse_compact_jws(token: str) -> CompactJWS:
    """Split and decode a compact JWS; `ValueError` if it is not one.

    Parsed here rather than by PyJWS, whose per-character checks cost about as much as the
    ECDSA verification itself (measured: bench/oauth_primitives.py).
    """
    if len(token) > MAX_JWT_LENGTH:
        raise ValueError("JWT is too long")
    raw = token.encode("ascii")  # UnicodeEncodeError is a ValueError
    parts = raw.split(b".")
    if len(parts) != 3:
        raise ValueError("a compact JWS has three parts")
    header = _header(parts[0])
    return CompactJWS(
        header=header,
        payload=_segment(parts[1]),
        signing_input=parts[0] + b"." + parts[1],
        signature=_segment(parts[2]),
    )


def _refuse_all(signing_input: bytes, signature: bytes) -> bool:
    return False


def _verify_es256(key: ec.EllipticCurvePublicKey, signing_input: bytes, signature: bytes) -> bool:
    """PyJWT's ECAlgorithm.verify for P-256, without its per-call curve and ECDSA objects:
    the JWS signature is r || s, 32 bytes each (RFC 7518 3.4), re-encoded as DER."""
    if len(signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, signing_input, _ES256)
    except InvalidSignature:
        return False
    return True


def signature_check(alg: str, key: PublicKey) -> Callable[[bytes, bytes], bool]:
    """`check(signing_input, signature)` for `alg` and `key`, prepared once per key.

    ES256 with a P-256 public key goes straight to `cryptography`; any other pairing through
    PyJWT's algorithm object as before; an algorithm outside the allow-list never verifies.
    """
    algorithm = _ALGORITHMS.get(alg)
    if algorithm is None:
        return _refuse_all
    if (
        alg == "ES256"
        and isinstance(key, ec.EllipticCurvePublicKey)
        and isinstance(key.curve, ec.SECP256R1)
    ):
        return functools.partial(_verify_es256, key)

    def check(signing_input: bytes, signature: bytes) -> bool:
        return bool(algorithm.verify(signing_input, key, signature))

    return check


def verify_jws_signature(jws: CompactJWS, alg: str, key: PublicKey) -> bool:
    """Check the signature with `alg`, which the caller has pinned (never the header's say-so)."""
    return signature_check(alg, key)(jws.signing_input, jws.signature)


def sign_with_keyset(keys: KeysetSource, claims: Mapping[str, Any], *, typ: str) -> str:
    """Sign `claims` with the keyset's active key, naming it by `kid` and stating `typ`."""
    key = keys.current().active
    return jwt.encode(
        dict(claims), key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ}
    )


def decode_signed_by_keyset(
    token: str,
    keys: KeysetSource,
    *,
    typ: str,
    algorithms: Collection[str],
    now: datetime,
) -> tuple[SigningKey, dict[str, Any]]:
    """Check header, key and signature of a bank-signed JWT; claims are the caller's to check."""
    try:
        jws = parse_compact_jws(token)
    except ValueError as exc:
        raise SignedJWTRejected("malformed JWT") from exc
    header = jws.header
    if _media_type(header.get("typ")) != typ:
        raise SignedJWTRejected(f"typ must be {typ!r}")
    if "crit" in header:  # RFC 7515 4.1.11: we understand no extensions, so none may be critical
        raise SignedJWTRejected("critical header extensions are not supported")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in SIGNING_ALGORITHMS:
        raise SignedJWTRejected(f"algorithm {alg!r} is not allowed")
    kid = header.get("kid")
    key = keys.current().verification_key(kid, now) if isinstance(kid, str) else None
    if key is None:
        raise SignedJWTRejected("unknown or retired signing key")
    if key.alg != alg:
        raise SignedJWTRejected("algorithm does not match the signing key")
    if not verify_jws_signature(jws, key.alg, key.public_key):
        raise SignedJWTRejected("signature verification failed")
    try:
        claims = jws.claims()
    except ValueError as exc:
        raise SignedJWTRejected("JWT payload is not a JSON object") from exc
    return key, claims


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What a verified access token says: who, which client, tenant and consent, until when."""

    issuer: str
    subject: str
    audience: str
    client_id: str
    scope: frozenset[str]
    tenant_id: str
    consent_id: str | None
    jti: str
    issued_at: datetime
    expires_at: datetime
    jkt: str | None = None  # RFC 9449 6.1: cnf.jkt when the token is DPoP-bound

    def to_jwt_claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.audience,
            "exp": _epoch(self.expires_at),
            "iat": _epoch(self.issued_at),
            "jti": self.jti,
            "client_id": self.client_id,
            "scope": " ".join(sorted(self.scope)),
            "tenant_id": self.tenant_id,
        }
        if self.consent_id is not None:
            claims["consent_id"] = self.consent_id
        if self.jkt is not None:
            claims["cnf"] = {"jkt": self.jkt}
        return claims

    @classmethod
    def from_jwt_claims(cls, claims: Mapping[str, Any]) -> AccessTokenClaims:
        """Read the RFC 9068 claims, refusing missing or mistyped ones."""
        text: dict[str, str] = {}
        for name in ("iss", "sub", "aud", "jti", "client_id", "tenant_id"):
            value = claims.get(name)
            if not isinstance(value, str) or not value:
                raise SignedJWTRejected(f"claim {name!r} is missing")
            text[name] = value
        scope = claims.get("scope", "")
        consent_id = claims.get("consent_id")
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if not isinstance(scope, str) or (
            consent_id is not None and not isinstance(consent_id, str)
        ):
            raise SignedJWTRejected("claims 'scope' and 'consent_id' must be strings")
        if cnf is not None and not isinstance(jkt, str):
            raise SignedJWTRejected("claim 'cnf' must carry a 'jkt'")
        return cls(
            issuer=text["iss"],
            subject=text["sub"],
            audience=text["aud"],
            client_id=text["client_id"],
            scope=frozenset(scope.split()),
            tenant_id=text["tenant_id"],
            consent_id=consent_id,
            jti=text["jti"],
            issued_at=_from_epoch(claims.get("iat"), "iat"),
            expires_at=_from_epoch(claims.get("exp"), "exp"),
            jkt=jkt,
        )


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    claims: AccessTokenClaims

    @property
    def expires_in(self) -> int:
        return int((self.claims.expires_at - self.claims.issued_at).total_seconds())


class AccessTokenIssuer:
    """Issues RFC 9068 access tokens with the keyset's active key."""

    def __init__(
        self,
        keys: KeysetSource,
        *,
        issuer: str,
        lifetime: timedelta = DEFAULT_ACCESS_TOKEN_LIFETIME,
    ) -> None:
        if not timedelta(0) < lifetime <= MAX_ACCESS_TOKEN_LIFETIME:
            raise ValueError("access token lifetime must be within (0, 600] seconds")
        self._keys = keys
        self._issuer = issuer
        self._lifetime = lifetime

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        audience: str,
        scope: Iterable[str],
        tenant_id: str,
        consent_id: str | None = None,
        jkt: str | None = None,
    ) -> IssuedAccessToken:
        """Sign a token for `subject` acting through `client_id`; bind it to `jkt` if DPoP."""
        now = utcnow().replace(microsecond=0)
        claims = AccessTokenClaims(
            issuer=self._issuer,
            subject=subject,
            audience=audience,
            client_id=client_id,
            scope=frozenset(scope),
            tenant_id=tenant_id,
            consent_id=consent_id,
            jti=secrets.token_urlsafe(16),
            issued_at=now,
            expires_at=now + self._lifetime,
            jkt=jkt,
        )
        token = sign_with_keyset(self._keys, claims.to_jwt_claims(), typ=ACCESS_TOKEN_TYP)
        return IssuedAccessToken(token=token, claims=claims)


@dataclass(frozen=True, slots=True)
class _CachedToken:
    claims: AccessTokenClaims
    kid: str


class VerifiedTokenCache:
    """Tokens already verified, keyed by SHA-256 of the token, bounded (least recently used out).

    Entries are useless after the token's `exp`; the verifier re-checks `exp` on every hit.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, _CachedToken] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> _CachedToken | None:
        entry = self._entries.get(digest)
        if entry is not None:
            self._entries.move_to_end(digest)
        return entry

    def put(self, digest: bytes, claims: AccessTokenClaims, kid: str) -> None:
        self._entries[digest] = _CachedToken(claims=claims, kid=kid)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget one token (e.g. on revocation) so it is fully re-verified next time."""
        self._entries.pop(hashlib.sha256(token.encode()).digest(), None)

    def clear(self) -> None:
        self._entries.clear()


class AccessTokenVerifier:
    """Verifies RFC 9068 access tokens for one issuer and audience (the resource server)."""

    def __init__(
        self,
        keys: KeysetSource,
        *,
        issuer: str,
        audience: str,
        algorithms: Collection[str] = ("ES256",),
        cache: VerifiedTokenCache | None = None,
        clock_skew: timedelta = timedelta(seconds=5),
    ) -> None:
        if unknown := set(algorithms) - SIGNING_ALGORITHMS:
            raise ValueError(f"algorithms not allowed for access tokens: {sorted(unknown)}")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._cache = cache
        self._clock_skew = clock_skew

    def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, or `InvalidAccessToken` saying why it is refused."""
        now = utcnow()
        digest = hashlib.sha256(token.encode()).digest()
        if self._cache is not None and (hit := self._cache.get(digest)) is not None:
            # Signature already checked. Time, the key's standing and (for a cache shared
            # between verifiers) issuer and audience are checked on every use.
            if self._keys.current().verification_key(hit.kid, now) is None:
                raise InvalidAccessToken("unknown or retired signing key")
            self._check_claims(hit.claims, {}, now)
            return hit.claims
        try:
            key, raw = decode_signed_by_keyset(
                token, self._keys, typ=ACCESS_TOKEN_TYP, algorithms=self._algorithms, now=now
            )
            claims = AccessTokenClaims.from_jwt_claims(raw)
        except InvalidAccessToken:
            raise
        except SignedJWTRejected as exc:
            raise InvalidAccessToken(exc.reason) from exc
        self._check_claims(claims, raw, now)
        if self._cache is not None:
            self._cache.put(digest, claims, key.kid)
        return claims

    def _check_claims(
        self, claims: AccessTokenClaims, raw: Mapping[str, Any], now: datetime
    ) -> None:
        if claims.issuer != self._issuer:
            raise InvalidAccessToken("wrong issuer")
        if claims.audience != self._audience:
            raise InvalidAccessToken("wrong audience")
        if now >= claims.expires_at:
            raise InvalidAccessToken("token expired")
        if claims.issued_at > now + self._clock_skew:
            raise InvalidAccessToken("token issued in the future")
        if claims.expires_at - claims.issued_at > MAX_ACCESS_TOKEN_LIFETIME:
            raise InvalidAccessToken("token lifetime exceeds 600 seconds")
        if "nbf" in raw and _from_epoch(raw["nbf"], "nbf") > now + self._clock_skew:
            raise InvalidAccessToken("token not yet valid")


# --- opaque tokens: refresh tokens and authorization codes ------------------------------------


def new_refresh_token() -> str:
    """A fresh refresh token (`phr_` + 256 random bits); store only `hash_token()` of it."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(_OPAQUE_TOKEN_BYTES)


def new_authorization_code() -> str:
    """A fresh authorization code (`phc_` + 256 random bits); store only `hash_token()` of it."""
    return AUTHORIZATION_CODE_PREFIX + secrets.token_urlsafe(_OPAQUE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Hex SHA-256 of an opaque token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
