"""`Idempotency-Key` semantics: same key and body → the stored response; other body → 409.

Keys are scoped per caller (OAuth client, or member) and operation, stored with a SHA-256 of the
canonical request body, so a retried application never creates a second one (JR/T 0269 8.4.2 a).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.errors import Conflict, FieldError, InvalidRequest
from puhui.lending.models import IdempotencyRecord
from puhui.lending.repository import IdempotencyRepository
from puhui.tenancy.subject import AuthSubject

__all__ = ["IdempotencyGuard", "StoredResponse", "body_hash", "require_key"]

_KEY: Final = re.compile(r"^[A-Za-z0-9._:-]{8,255}$")
_CANONICAL: Final = msgspec.json.Encoder(order="sorted", decimal_format="string")


class StoredResponse(msgspec.Struct, frozen=True):
    status_code: int
    body: dict[str, Any]


def require_key(value: str | None) -> str:
    """The header value, or a 422 naming the header: the key is mandatory on these routes."""
    if value is None or not _KEY.match(value):
        raise InvalidRequest(
            errors=[FieldError("Idempotency-Key", "required: 8-255 characters [A-Za-z0-9._:-]")]
        )
    return value


def body_hash(body: msgspec.Struct) -> str:
    """SHA-256 of the decoded body in canonical form (key order and spacing do not matter)."""
    return hashlib.sha256(_CANONICAL.encode(body)).hexdigest()


def _caller(subject: AuthSubject) -> str:
    return f"client:{subject.client_id}" if subject.client_id else f"member:{subject.member_id}"


class IdempotencyGuard:
    """Look a key up before the operation and remember the response after it."""

    def __init__(self, session: AsyncSession, subject: AuthSubject, operation: str) -> None:
        self.session = session
        self.subject = subject
        self.operation = operation
        self.rows = IdempotencyRepository(session)

    async def replay(self, key: str, digest: str) -> StoredResponse | None:
        row = await self.rows.find(_caller(self.subject), self.operation, key)
        if row is None:
            return None
        if row.body_hash != digest:
            raise Conflict("This Idempotency-Key was used with a different request body.")
        return StoredResponse(row.status_code, row.response)

    async def remember(self, key: str, digest: str, response: StoredResponse) -> None:
        self.rows.add(
            IdempotencyRecord(
                tenant_id=self.subject.tenant_id,
                caller=_caller(self.subject),
                operation=self.operation,
                key=key,
                body_hash=digest,
                status_code=response.status_code,
                response=response.body,
            )
        )
        try:
            await self.rows.flush()
        except IntegrityError as exc:  # a concurrent request with the same key won the race
            raise Conflict("A request with this Idempotency-Key is already in progress.") from exc
