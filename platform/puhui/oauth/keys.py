"""The bank's signing keysets: active / next / retired keys, kid = RFC 7638 thumbprint, JWKS.

A keyset is persisted as one JSON document per purpose in a key directory (mode 0600,
written atomically under a file lock), so a rotation is never half-applied and every
worker of a deployment sees the same keys.
"""

from __future__ import annotations

import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeAlias, get_args

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWTError
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from puhui.clock import utcnow

__all__ = [
    "PRIVATE_JWK_MEMBERS",
    "SIGNING_ALGORITHMS",
    "InvalidJWK",
    "KeyFileError",
    "KeyRing",
    "KeyState",
    "Keyset",
    "KeysetSource",
    "PrivateKey",
    "PublicKey",
    "PublicKeyCache",
    "SigningAlgorithm",
    "SigningKey",
    "b64url",
    "generate_signing_key",
    "jwk_thumbprint",
    "load_or_create",
    "public_key_from_jwk",
    "rotate",
]

SigningAlgorithm: TypeAlias = Literal["ES256", "EdDSA", "PS256"]
SIGNING_ALGORITHMS: Final[frozenset[str]] = frozenset(get_args(SigningAlgorithm))

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

# JWK members that only a private (or symmetric) key has: a public-key slot must not carry them.
PRIVATE_JWK_MEMBERS: Final[frozenset[str]] = frozenset(
    {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
)

# RFC 7638 section 3.2: the required members per key type, hashed in lexicographic order.
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_MIN_RSA_BITS: Final = 2048  # FAPI 2.0 Security Profile 5.4: RSA keys of at least 2048 bits
_NEW_RSA_BITS: Final = 3072
_FILE_FORMAT: Final = 1


class InvalidJWK(ValueError):
    """A JWK is malformed, private, or does not fit the algorithm it is used with."""


class KeyFileError(RuntimeError):
    """A key file is unreadable, inconsistent, or not protected well enough to be trusted."""


class KeyState(StrEnum):
    ACTIVE = "active"  # signs everything issued now
    NEXT = "next"  # published in advance so relying parties have it cached before it signs
    RETIRED = "retired"  # verifies what it signed until `retired_until`, then is dropped


_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 2): `base64.urlsafe_b64encode(data).rstrip(b"=")` as text,
    without its Python wrapper (it runs on every DPoP-bound call)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url: the key's `kid` and a DPoP `jkt`."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidJWK(f"unsupported key type {kty!r}")
    required: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidJWK(f"JWK member {name!r} is missing")
        required[name] = value
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_key_from_jwk(jwk: Mapping[str, Any], alg: str) -> PublicKey:
    """Build the public key a JWK describes, refusing private members and keys unfit for `alg`."""
    if private := PRIVATE_JWK_MEMBERS.intersection(jwk):
        raise InvalidJWK(f"JWK carries private key members {sorted(private)}")
    kty = jwk.get("kty")
    data = dict(jwk)
    try:
        if alg == "ES256" and kty == "EC" and jwk.get("crv") == "P-256":
            key = ECAlgorithm.from_jwk(data)
            if isinstance(key, ec.EllipticCurvePublicKey):
                return key
        elif alg == "EdDSA" and kty == "OKP" and jwk.get("crv") == "Ed25519":
            okp = OKPAlgorithm.from_jwk(data)
            if isinstance(okp, ed25519.Ed25519PublicKey):
                return okp
        elif alg == "PS256" and kty == "RSA":
            rsa_key = RSAAlgorithm.from_jwk(data)
            if isinstance(rsa_key, rsa.RSAPublicKey):
                if rsa_key.key_size < _MIN_RSA_BITS:
                    raise InvalidJWK(f"RSA key of {rsa_key.key_size} bits is too short")
                return rsa_key
    except InvalidJWK:
        raise
    except (PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise InvalidJWK(f"malformed JWK: {exc}") from exc
    raise InvalidJWK(f"a {kty!r} key cannot verify {alg!r} signatures")


class PublicKeyCache:
    """JWK -> public key, memoised by (alg, RFC 7638 thumbprint); bounded, least recent out.

    Building a key from a JWK (with point validation) costs ~25 µs; callers that see the
    same client keys on every request (DPoP, client assertions) keep one of these.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._max_entries = max_entries
        self._keys: OrderedDict[tuple[str, str], PublicKey] = OrderedDict()

    def get(self, jwk: Mapping[str, Any], alg: str) -> tuple[str, PublicKey]:
        """The key's thumbprint and public key; `InvalidJWK` if private, malformed or unfit."""
        if private := PRIVATE_JWK_MEMBERS.intersection(jwk):
            raise InvalidJWK(f"JWK carries private key members {sorted(private)}")
        jkt = jwk_thumbprint(jwk)
        cache_key = (alg, jkt)
        key = self._keys.get(cache_key)
        if key is None:
            key = public_key_from_jwk(jwk, alg)
            self._keys[cache_key] = key
            if len(self._keys) > self._max_entries:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(cache_key)
        return jkt, key


def _public_jwk_members(public_key: PublicKey) -> dict[str, Any]:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(public_key, as_dict=True)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return RSAAlgorithm.to_jwk(public_key, as_dict=True)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One private signing key with its life-cycle state; `kid` is its RFC 7638 thumbprint."""

    kid: str
    alg: SigningAlgorithm
    state: KeyState
    created_at: datetime
    private_key: PrivateKey = field(repr=False)
    retired_until: datetime | None = None
    public_key: PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", self.private_key.public_key())
        if self.state is KeyState.RETIRED and self.retired_until is None:
            raise ValueError("a retired key needs retired_until")

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK for /jwks.json."""
        return {
            **_public_jwk_members(self.public_key),
            "kid": self.kid,
            "alg": self.alg,
            "use": "sig",
        }

    def verifies_at(self, now: datetime) -> bool:
        """Whether signatures by this key are still accepted at `now`."""
        return self.retired_until is None or now < self.retired_until


def generate_signing_key(alg: SigningAlgorithm, state: KeyState, now: datetime) -> SigningKey:
    """A fresh key for `alg`; ES256 (P-256) is the bank's default."""
    private_key: PrivateKey
    if alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=_NEW_RSA_BITS)
    kid = jwk_thumbprint(_public_jwk_members(private_key.public_key()))
    return SigningKey(kid=kid, alg=alg, state=state, created_at=now, private_key=private_key)


@dataclass(frozen=True, slots=True)
class Keyset:
    """All keys of one purpose (e.g. access tokens, response signing), exactly one active."""

    purpose: str
    keys: tuple[SigningKey, ...]
    _by_kid: dict[str, SigningKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kid = {key.kid: key for key in self.keys}
        if len(by_kid) != len(self.keys):
            raise KeyFileError(f"keyset {self.purpose!r} repeats a kid")
        if sum(key.state is KeyState.ACTIVE for key in self.keys) != 1:
            raise KeyFileError(f"keyset {self.purpose!r} must have exactly one active key")
        object.__setattr__(self, "_by_kid", by_kid)

    @property
    def active(self) -> SigningKey:
        return next(key for key in self.keys if key.state is KeyState.ACTIVE)

    @property
    def next_key(self) -> SigningKey | None:
        return next((key for key in self.keys if key.state is KeyState.NEXT), None)

    def verification_key(self, kid: str, now: datetime) -> SigningKey | None:
        """The key with `kid` if its signatures are accepted at `now`, else None."""
        key = self._by_kid.get(kid)
        return key if key is not None and key.verifies_at(now) else None

    def public_jwks(self, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set for /jwks.json: active, next, and retired keys still verifying."""
        at = now or utcnow()
        return {"keys": [key.public_jwk() for key in self.keys if key.verifies_at(at)]}

    def current(self) -> Keyset:
        """A keyset is trivially its own source (see `KeysetSource`)."""
        return self


class KeysetSource(Protocol):
    """Where issuers and verifiers get the keyset now in force (a `Keyset` or a `KeyRing`)."""

    def current(self) -> Keyset: ...


# --- persistence -----------------------------------------------------------------------------


def _keyset_path(directory: Path, purpose: str) -> Path:
    if not purpose or not all(ch.isalnum() or ch in "-_" for ch in purpose):
        raise ValueError(f"keyset purpose {purpose!r} must be letters, digits, '-' or '_'")
    return directory / f"{purpose}.keyset.json"


@contextlib.contextmanager
def _locked(directory: Path, purpose: str) -> Iterator[None]:
    """Serialise create/rotate across the workers sharing a key directory."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / f".{purpose}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _encode_key(key: SigningKey, passphrase: bytes | None) -> dict[str, Any]:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return {
        "kid": key.kid,
        "alg": key.alg,
        "state": key.state.value,
        "created_at": key.created_at.isoformat(),
        "retired_until": key.retired_until.isoformat() if key.retired_until else None,
        "private_key_pem": pem.decode("ascii"),
    }


def _decode_key(item: Mapping[str, Any], passphrase: bytes | None) -> SigningKey:
    alg = item["alg"]
    if alg not in SIGNING_ALGORITHMS:
        raise KeyFileError(f"unsupported key algorithm {alg!r}")
    private_key = serialization.load_pem_private_key(
        item["private_key_pem"].encode("ascii"), password=passphrase
    )
    if not isinstance(
        private_key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyFileError("unsupported private key type in key file")
    key = SigningKey(
        kid=item["kid"],
        alg=alg,
        state=KeyState(item["state"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        private_key=private_key,
        retired_until=(
            datetime.fromisoformat(item["retired_until"]) if item["retired_until"] else None
        ),
    )
    if jwk_thumbprint(_public_jwk_members(key.public_key)) != key.kid:
        raise KeyFileError(f"key {key.kid!r} does not match its thumbprint")
    return key


def _read(path: Path, passphrase: bytes | None) -> Keyset:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path} does not exist; create it with load_or_create") from exc
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by group or others; chmod 600 it")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != _FILE_FORMAT:
            raise KeyFileError(f"{path}: unknown key file format {document.get('format')!r}")
        keys = tuple(_decode_key(item, passphrase) for item in document["keys"])
        return Keyset(purpose=document["purpose"], keys=keys)
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


def _write(path: Path, keyset: Keyset, passphrase: bytes | None) -> None:
    """Write atomically: a temp file (0600) in the same directory, fsync, rename, fsync dir."""
    document = {
        "format": _FILE_FORMAT,
        "purpose": keyset.purpose,
        "keys": [_encode_key(key, passphrase) for key in keyset.keys],
    }
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_or_create(
    directory: Path | str,
    *,
    purpose: str = "access-token",
    alg: SigningAlgorithm = "ES256",
    now: datetime | None = None,
    passphrase: bytes | None = None,
) -> Keyset:
    """Load the keyset of `purpose`, creating an active and a next key on first use."""
    at = now or utcnow()
    directory = Path(directory)
    path = _keyset_path(directory, purpose)
    with _locked(directory, purpose):
        if path.exists():
            return _read(path, passphrase)
        keyset = Keyset(
            purpose=purpose,
            keys=(
                generate_signing_key(alg, KeyState.ACTIVE, at),
                generate_signing_key(alg, KeyState.NEXT, at),
            ),
        )
        _write(path, keyset, passphrase)
        return keyset


def rotate(
    directory: Path | str,
    now: datetime,
    *,
    purpose: str = "access-token",
    retain_for: timedelta = timedelta(seconds=600),
    alg: SigningAlgorithm | None = None,
    passphrase: bytes | None = None,
) -> Keyset:
    """Next becomes active, a new next is made, the old active verifies until now + retain_for.

    `retain_for` must cover the longest lifetime of anything the keyset signs (600 s for
    access tokens). Retired keys whose time is up are dropped.
    """
    if retain_for <= timedelta(0):
        raise ValueError("retain_for must be positive")
    directory = Path(directory)
    path = _keyset_path(directory, purpose)
    with _locked(directory, purpose):
        current = _read(path, passphrase)
        new_alg = alg or current.active.alg
        kept: list[SigningKey] = []
        promoted = False
        for key in current.keys:
            if key.state is KeyState.ACTIVE:
                kept.append(replace(key, state=KeyState.RETIRED, retired_until=now + retain_for))
            elif key.state is KeyState.NEXT:
                # A next key of another algorithm never signed anything: it is simply dropped.
                if key.alg == new_alg:
                    kept.append(replace(key, state=KeyState.ACTIVE))
                    promoted = True
            elif key.verifies_at(now):
                kept.append(key)
        if not promoted:
            kept.append(generate_signing_key(new_alg, KeyState.ACTIVE, now))
        kept.append(generate_signing_key(new_alg, KeyState.NEXT, now))
        keyset = Keyset(purpose=purpose, keys=tuple(kept))
        _write(path, keyset, passphrase)
        return keyset


class KeyRing:
    """A `KeysetSource` backed by the key directory, re-read when another worker rotates."""

    def __init__(
        self,
        directory: Path | str,
        *,
        purpose: str = "access-token",
        passphrase: bytes | None = None,
        refresh_interval: timedelta = timedelta(seconds=1),
    ) -> None:
        self._path = _keyset_path(Path(directory), purpose)
        self._passphrase = passphrase
        self._refresh_interval = refresh_interval
        self._keyset = _read(self._path, passphrase)
        self._signature = self._file_signature()
        self._checked_at = utcnow()

    def _file_signature(self) -> tuple[int, int, int]:
        stat = self._path.stat()
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def current(self) -> Keyset:
        """The keyset in force; the file is checked at most once per `refresh_interval`."""
        now = utcnow()
        if now - self._checked_at >= self._refresh_interval:
            self._checked_at = now
            signature = self._file_signature()
            if signature != self._signature:
                self._keyset = _read(self._path, self._passphrase)
                self._signature = signature
        return self._keyset
