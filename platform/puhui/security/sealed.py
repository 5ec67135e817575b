"""Sealed model attributes: C2/C3 values encrypted at rest with a blind index for exact lookups.

    class Customer(Base):
        phone_enc: Mapped[str | None] = mapped_column(String(512))
        phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
        phone = Sealed("phone", index=True)

Assigning ``customer.phone = "13812345678"`` stores an AES-256-GCM envelope in ``phone_enc``
bound to (table, column, row id) and the keyed HMAC in ``phone_bidx``; reading decrypts. Look
rows up with ``Customer.phone_bidx == blind_index("phone", value)``.
"""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar, overload

from puhui.security.fieldcrypto import field_aad
from puhui.security.keyring import keyring

__all__ = ["Sealed", "blind_index"]

T = TypeVar("T")


def blind_index(purpose: str, value: str) -> str:
    return keyring().blind_index(value, purpose)


class Sealed(Generic[T]):
    def __init__(self, name: str, *, index: bool = False) -> None:
        self.name = name
        self.column = f"{name}_enc"
        self.index_column = f"{name}_bidx" if index else None
        self._cache = f"_sealed_{name}"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Sealed[T]: ...
    @overload
    def __get__(self, obj: object, owner: type[Any]) -> str | None: ...

    def __get__(self, obj: object | None, owner: type[Any]) -> Sealed[T] | str | None:
        if obj is None:
            return self
        token: str | None = getattr(obj, self.column)
        if token is None:
            return None
        cached = obj.__dict__.get(self._cache)
        if cached is not None and cached[0] == token:
            return str(cached[1])
        plain = keyring().decrypt_text(token, self._aad(obj))
        obj.__dict__[self._cache] = (token, plain)
        return plain

    def __set__(self, obj: object, value: str | None) -> None:
        if value is None:
            setattr(obj, self.column, None)
            if self.index_column:
                setattr(obj, self.index_column, None)
            return
        if getattr(obj, "id", None) is None:
            obj.id = uuid.uuid4()  # type: ignore[attr-defined]  # the AAD binds the row id
        ring = keyring()
        token = ring.encrypt(value, self._aad(obj))
        setattr(obj, self.column, token)
        obj.__dict__[self._cache] = (token, value)
        if self.index_column:
            setattr(obj, self.index_column, ring.blind_index(value, self.name))

    def _aad(self, obj: object) -> bytes:
        table = getattr(type(obj), "__tablename__", type(obj).__name__)
        return field_aad(table, self.column, obj.id)  # type: ignore[attr-defined]

    def needs_rotation(self, obj: object) -> bool:
        token: str | None = getattr(obj, self.column)
        return token is not None and keyring().needs_rotation(token)

    def reseal(self, obj: object) -> None:
        """Re-encrypt under the current key version (key rotation)."""
        plain = self.__get__(obj, type(obj))
        self.__set__(obj, plain)
