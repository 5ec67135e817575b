"""Risk schemas on the wire: decisions and replays, rule sets, limits, review cases."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from puhui.risk.models import ReviewStatus

__all__ = [
    "CreditLimitEventRead",
    "CreditLimitRead",
    "DecisionRead",
    "LimitFreeze",
    "ReplayRead",
    "ReviewApprove",
    "ReviewCaseRead",
    "ReviewReason",
    "RuleSetPublish",
    "RuleSetRead",
]

Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]


class DecisionRead(msgspec.Struct, frozen=True):
    """The full decision record for bank staff: versions, hits, score, limit, price, route."""

    id: uuid.UUID
    application_id: uuid.UUID
    route: str
    grade: str
    score: int
    limit_fen: int
    record_hash: str
    input_hash: str
    record: dict[str, Any]


class ReplayRead(msgspec.Struct, frozen=True):
    decision_id: uuid.UUID
    reproduced: bool
    record_hash: str
    ruleset: str
    model: str


class RuleSetPublish(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rule-set document (9.2.2 a) as JSON text; decimals are written as strings."""

    document: Annotated[str, msgspec.Meta(min_length=2, max_length=500_000)]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class RuleSetRead(msgspec.Struct, frozen=True):
    ruleset_id: str
    version: str
    effective_from: datetime
    content_hash: str
    published_at: datetime
    note: str


class SubLimitRead(msgspec.Struct, frozen=True):
    product_code: str
    limit_fen: int
    approved_fen: int
    outstanding_fen: int


class CreditLimitRead(msgspec.Struct, frozen=True):
    uscc: str
    state: str
    basis: str
    total_fen: int
    expires_at: datetime
    sub_limits: list[SubLimitRead]
    version: int


class CreditLimitEventRead(msgspec.Struct, frozen=True):
    kind: str
    at: datetime
    state: str
    product_code: str | None
    amount_fen: int
    exposure_fen: int
    available_fen: int
    reason: str


class LimitFreeze(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason


class ReviewReason(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason


class ReviewApprove(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason
    amount_fen: Annotated[int, msgspec.Meta(gt=0)] | None = None


class ReviewCaseRead(msgspec.Struct, frozen=True):
    id: uuid.UUID
    partner_tenant_id: uuid.UUID
    application_id: uuid.UUID
    decision_id: uuid.UUID
    status: ReviewStatus
    route_reasons: list[str]
    assignee_id: uuid.UUID | None
    resolution_reason: str | None
    resolved_at: datetime | None
    approved_amount_fen: int | None
    created_at: datetime
    version: int
