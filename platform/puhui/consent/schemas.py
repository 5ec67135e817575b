"""Consent request and response bodies (msgspec)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "ConsentAmend",
    "ConsentCreate",
    "ConsentRead",
    "DataItemRequest",
    "HistoryRead",
    "ItemsKept",
    "ReceiptRead",
    "RevokeRequest",
]

Source = Literal["procurement", "utilities", "tax", "payroll", "bank"]
Purpose = Literal["credit_assessment", "post_loan_monitoring", "marketing"]
ItemName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class DataItemRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Items from one source, with how far back (months) the partner may look."""

    source: Source
    items: Annotated[list[ItemName], msgspec.Meta(min_length=1, max_length=20)]
    lookback_months: Annotated[int, msgspec.Meta(ge=1, le=60)] | None = None


class ConsentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a partner asks the customer to consent to (before the customer sees it)."""

    enterprise_uscc: Annotated[str, msgspec.Meta(min_length=18, max_length=18)]
    purposes: Annotated[list[Purpose], msgspec.Meta(min_length=1, max_length=3)]
    data_items: Annotated[list[DataItemRequest], msgspec.Meta(min_length=1, max_length=10)]
    validity_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    uses_per_day: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1


class ItemsKept(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: Source
    items: Annotated[list[ItemName], msgspec.Meta(min_length=1, max_length=20)]


class ConsentAmend(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The items the customer keeps; everything else is withdrawn at once."""

    data_items: Annotated[list[ItemsKept], msgspec.Meta(min_length=1, max_length=10)]


class RevokeRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class ConsentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: str
    client_id: str
    enterprise_uscc: str
    purposes: list[str]
    data_items: list[dict[str, Any]]
    validity_days: int
    uses_per_day: int
    authorise_by: datetime
    granted_at: datetime | None
    valid_until: datetime | None
    ended_at: datetime | None
    version: int


class HistoryRead(msgspec.Struct, frozen=True, kw_only=True):
    from_status: str | None
    to_status: str
    actor: str
    occurred_at: datetime


class ReceiptRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    consent_id: uuid.UUID
    event: str
    issued_at: datetime
    document: dict[str, Any]
    digest: str
    signature: str
