"""The caller: who is acting, for which tenant, with which roles and scopes."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from puhui.tenancy.models import TenantKind

__all__ = ["AuthSubject"]


class AuthSubject(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in member (portal session) or an OAuth client (bearer token).

    ``tenant_id`` is the only tenant this caller's data lives in; operator powers over other
    tenants come from ``kind == bank`` plus an operator role, used only on operator routes.
    """

    kind: Literal["member", "client"]
    tenant_id: uuid.UUID
    tenant_kind: TenantKind
    member_id: uuid.UUID | None = None
    client_id: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    consent_id: uuid.UUID | None = None
    # The SME customer on whose behalf a client acts (authorization-code tokens), if any.
    customer_id: uuid.UUID | None = None
    session_id: str | None = None
    csrf_token: str | None = None

    @property
    def is_bank_staff(self) -> bool:
        return self.tenant_kind is TenantKind.BANK and self.kind == "member"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
