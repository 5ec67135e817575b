"""Field envelope encryption (AES-256-GCM) and blind indexes for C2/C3 columns (JR/T 0171-2020).

Scheme: every value gets a fresh random 256-bit data key (DEK). The value is sealed with the DEK
(a single-use key, so a fixed zero nonce is safe); the DEK is wrapped with the current
key-encryption key (KEK) under a random 96-bit nonce. Per-value DEKs keep each KEK far below
GCM's 2^32 random-nonce limit however many rows exist; the wrap binds the same associated data.

Token: `v<version>:` + base64url(wrap_nonce[12] || wrapped_dek[48] || ciphertext+tag).
Associated data binds a value to its table, column and row, so a ciphertext copied elsewhere fails.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["FieldDecryptionError", "FieldKeyring", "field_aad"]

_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_WRAPPED_DEK_BYTES: Final = _KEY_BYTES + 16
_ZERO_NONCE: Final = bytes(_NONCE_BYTES)
_WRAP_DOMAIN: Final = b"puhui-dek|"


class FieldDecryptionError(ValueError):
    """A token is malformed, names an unknown key version, or fails authentication."""


def field_aad(table: str, column: str, row_id: object) -> bytes:
    """Associated data binding a value to where it is stored (unit separators: unambiguous)."""
    return f"{table}\x1f{column}\x1f{row_id}".encode()


def _decode_key(value: bytes | str) -> bytes:
    key = base64.b64decode(value, validate=True) if isinstance(value, str) else value
    if len(key) != _KEY_BYTES:
        raise ValueError("field encryption keys must be 32 bytes (AES-256)")
    return key


def _normalise(value: str) -> str:
    """NFKC, case-folded, no spaces or hyphens: `138 1234-5678` and `13812345678` index alike."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch != "-")


@dataclass(frozen=True, slots=True)
class FieldKeyring:
    """Versioned KEKs (the newest encrypts, all decrypt) and a separate blind-index key."""

    keys: Mapping[int, bytes] = field(repr=False)
    current: int
    index_key: bytes = field(repr=False)
    _aeads: dict[int, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("current key version is not in the keyring")
        keys = {int(v): _decode_key(k) for v, k in self.keys.items()}
        if any(v < 1 for v in keys):
            raise ValueError("key versions start at 1")
        index_key = _decode_key(self.index_key)
        if any(hmac.compare_digest(index_key, k) for k in keys.values()):
            raise ValueError("the blind-index key must differ from every encryption key")
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "_aeads", {v: AESGCM(k) for v, k in keys.items()})

    @classmethod
    def from_base64(
        cls, keys: Mapping[int | str, str], current: int, index_key: str
    ) -> FieldKeyring:
        """Build from base64 strings as kept in settings or key files."""
        try:
            decoded = {int(v): base64.b64decode(k, validate=True) for v, k in keys.items()}
            index = base64.b64decode(index_key, validate=True)
        except binascii.Error as exc:
            raise ValueError("field encryption keys must be valid base64") from exc
        return cls(decoded, current, index)

    def encrypt(self, plaintext: str | bytes, aad: bytes) -> str:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        dek = AESGCM.generate_key(bit_length=256)
        wrap_nonce = os.urandom(_NONCE_BYTES)
        version = self.current
        wrap_aad = _WRAP_DOMAIN + str(version).encode() + b"|" + aad
        wrapped = self._aeads[version].encrypt(wrap_nonce, dek, wrap_aad)
        sealed = AESGCM(dek).encrypt(_ZERO_NONCE, data, aad)
        body = base64.urlsafe_b64encode(wrap_nonce + wrapped + sealed).rstrip(b"=").decode()
        return f"v{version}:{body}"

    def decrypt(self, token: str, aad: bytes) -> bytes:
        version, blob = self._split(token)
        if len(blob) < _NONCE_BYTES + _WRAPPED_DEK_BYTES + 16:
            raise FieldDecryptionError("ciphertext is truncated")
        wrap_nonce = blob[:_NONCE_BYTES]
        wrapped = blob[_NONCE_BYTES : _NONCE_BYTES + _WRAPPED_DEK_BYTES]
        sealed = blob[_NONCE_BYTES + _WRAPPED_DEK_BYTES :]
        wrap_aad = _WRAP_DOMAIN + str(version).encode() + b"|" + aad
        try:
            dek = self._aeads[version].decrypt(wrap_nonce, wrapped, wrap_aad)
            return AESGCM(dek).decrypt(_ZERO_NONCE, sealed, aad)
        except InvalidTag as exc:
            raise FieldDecryptionError("ciphertext failed authentication") from exc

    def decrypt_text(self, token: str, aad: bytes) -> str:
        return self.decrypt(token, aad).decode()

    def needs_rotation(self, token: str) -> bool:
        """True when the value was sealed under an older KEK (re-encrypt it on the next write)."""
        return self._split(token)[0] != self.current

    def blind_index(self, value: str, purpose: str) -> str:
        """Deterministic HMAC-SHA256 of the normalised value, per purpose, for exact lookups."""
        message = purpose.encode() + b"\x00" + _normalise(value).encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()

    def _split(self, token: str) -> tuple[int, bytes]:
        prefix, sep, body = token.partition(":")
        if not sep or not prefix.startswith("v") or not prefix[1:].isdigit():
            raise FieldDecryptionError("not a field ciphertext")
        version = int(prefix[1:])
        if version not in self._aeads:
            raise FieldDecryptionError("ciphertext names an unknown key version")
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise FieldDecryptionError("ciphertext is not valid base64") from exc
        return version, blob
