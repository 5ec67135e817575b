"""Sign-in schemas."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

__all__ = ["LoginRequest", "SessionRead"]


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SessionRead(msgspec.Struct, frozen=True):
    member_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_kind: str
    roles: list[str]
    csrf_token: str
