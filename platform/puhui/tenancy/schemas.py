"""Tenant and member schemas on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from puhui.tenancy.models import MemberStatus, TenantKind, TenantStatus

__all__ = [
    "MemberCreate",
    "MemberRead",
    "MemberUpdate",
    "TenantCreate",
    "TenantRead",
    "TenantStatusChange",
]

Email = Annotated[
    str, msgspec.Meta(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$", max_length=254)
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Uscc = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")]
PartnerRole = Literal["owner", "admin", "developer", "viewer"]
Role = Literal["owner", "admin", "developer", "viewer", "operator", "risk_officer", "auditor"]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]


class TenantRead(msgspec.Struct, frozen=True):
    id: uuid.UUID
    code: str
    name: str
    kind: TenantKind
    status: TenantStatus
    uscc: str | None
    scenario_type: str | None
    plan: str
    is_sandbox: bool
    created_at: datetime
    version: int


class TenantCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    kind: Literal["scenario_provider", "channel_app"]
    uscc: Uscc | None = None
    scenario_type: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class TenantStatusChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason


class MemberRead(msgspec.Struct, frozen=True):
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    status: MemberStatus
    last_login_at: datetime | None
    created_at: datetime
    version: int


class MemberCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    display_name: Name
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=7)]
    password: Password | None = None


class MemberUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: int
    display_name: Name | None = None
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=7)] | None = None
    status: Literal["active", "disabled"] | None = None
