"""HTTP for tenants and members: a member's own organisation, and the bank operator's directory."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from puhui.deps import Db, Subject
from puhui.gateway.catalogue import FieldClass, declare
from puhui.tenancy.models import Member, Tenant, TenantStatus
from puhui.tenancy.repository import TenantRepository
from puhui.tenancy.schemas import (
    MemberCreate,
    MemberRead,
    MemberUpdate,
    TenantCreate,
    TenantRead,
    TenantStatusChange,
)
from puhui.tenancy.service import MemberService, OperatorTenantService

__all__ = ["MemberController", "OperatorTenantController", "TenantController"]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
StatusFilter = Annotated[
    TenantStatus | None, QueryParameter(description="Only tenants in this status")
]
_MEMBER_FIELDS: Mapping[str, tuple[FieldClass, str]] = {"email": ("C2", "email")}


def tenant_read(t: Tenant) -> TenantRead:
    return TenantRead(
        id=t.id,
        code=t.code,
        name=t.name,
        kind=t.kind,
        status=t.status,
        uscc=t.uscc,
        scenario_type=t.scenario_type,
        plan=t.plan,
        is_sandbox=t.is_sandbox,
        created_at=t.created_at,
        version=t.version,
    )


def member_read(m: Member) -> MemberRead:
    return MemberRead(
        id=m.id,
        tenant_id=m.tenant_id,
        email=m.email,
        display_name=m.display_name,
        roles=list(m.roles),
        status=m.status,
        last_login_at=m.last_login_at,
        created_at=m.created_at,
        version=m.version,
    )


class TenantController(Controller):
    path = "/api/v1/tenant"

    @get(
        "/",
        **declare(
            operation_id="GetMyTenant",
            summary="The caller's own organisation",
            tag="Tenancy",
            level="A1",
            service="01",
            sequence=1,
            audience="member",
        ),
    )
    async def get_my_tenant(self, db: Db, subject: Subject) -> TenantRead:
        return tenant_read(await TenantRepository(db).get(subject.tenant_id))


class MemberController(Controller):
    path = "/api/v1/members"

    @get(
        "/",
        **declare(
            operation_id="ListMembers",
            summary="Members of the caller's organisation",
            tag="Tenancy",
            level="A1",
            service="01",
            sequence=2,
            audience="member",
            fields=_MEMBER_FIELDS,
        ),
    )
    async def list_members(
        self, db: Db, subject: Subject, limit: Limit = 50, offset: Offset = 0
    ) -> list[MemberRead]:
        return [member_read(m) for m in await MemberService(db, subject).page(limit, offset)]

    @post(
        "/",
        **declare(
            operation_id="CreateMember",
            summary="Add a member to the caller's organisation",
            tag="Tenancy",
            level="A1",
            service="01",
            sequence=3,
            audience="member",
            roles=("owner", "admin"),
            errors=(409,),
            fields=_MEMBER_FIELDS,
        ),
    )
    async def create_member(
        self, db: Db, subject: Subject, data: JSONBody[MemberCreate]
    ) -> MemberRead:
        return member_read(await MemberService(db, subject).create(data))

    @get(
        "/{member_id:uuid}",
        **declare(
            operation_id="GetMember",
            summary="One member",
            tag="Tenancy",
            level="A1",
            service="01",
            sequence=4,
            audience="member",
            resource="member",
            fields=_MEMBER_FIELDS,
        ),
    )
    async def get_member(
        self, db: Db, subject: Subject, member_id: FromPath[uuid.UUID]
    ) -> MemberRead:
        return member_read(await MemberService(db, subject).get(member_id))

    @patch(
        "/{member_id:uuid}",
        **declare(
            operation_id="UpdateMember",
            summary="Change a member's name, roles or status",
            tag="Tenancy",
            level="A1",
            service="01",
            sequence=5,
            audience="member",
            roles=("owner", "admin"),
            resource="member",
            errors=(409,),
            fields=_MEMBER_FIELDS,
        ),
    )
    async def update_member(
        self, db: Db, subject: Subject, member_id: FromPath[uuid.UUID], data: JSONBody[MemberUpdate]
    ) -> MemberRead:
        return member_read(await MemberService(db, subject).update(member_id, data))

    @delete(
        "/{member_id:uuid}",
        **declare(
            operation_id="RemoveMember",
            summary="Disable a member",
            tag="Tenancy",
            level="A1",
            service="01",
            sequence=6,
            audience="member",
            roles=("owner", "admin"),
            resource="member",
            errors=(409,),
        ),
    )
    async def remove_member(self, db: Db, subject: Subject, member_id: FromPath[uuid.UUID]) -> None:
        await MemberService(db, subject).disable(member_id)


def provide_operator(
    request: Request[Any, Any, Any], db: Db, subject: Subject
) -> OperatorTenantService:
    return OperatorTenantService(db, subject, request.client.host if request.client else None)


Operator = NamedDependency[OperatorTenantService]


class OperatorTenantController(Controller):
    """Explicit, audited operator routes: the only way bank staff reach other tenants."""

    path = "/api/v1/operator/tenants"
    dependencies = {"operator": Provide(provide_operator, sync_to_thread=False)}  # noqa: RUF012

    @get(
        "/",
        **declare(
            operation_id="OperatorListTenants",
            summary="Partner directory",
            tag="Operator",
            level="A1",
            service="90",
            sequence=1,
            audience="operator",
        ),
    )
    async def list_tenants(
        self,
        operator: Operator,
        limit: Limit = 50,
        offset: Offset = 0,
        status: StatusFilter = None,
    ) -> list[TenantRead]:
        return [tenant_read(t) for t in await operator.page(limit, offset, status)]

    @post(
        "/",
        **declare(
            operation_id="OperatorCreateTenant",
            summary="Register a partner organisation",
            tag="Operator",
            level="A1",
            service="90",
            sequence=2,
            audience="operator",
            roles=("operator",),
            errors=(409,),
        ),
    )
    async def create_tenant(
        self,
        operator: Operator,
        data: JSONBody[TenantCreate],
    ) -> TenantRead:
        return tenant_read(await operator.create(data))

    @get(
        "/{tenant_id:uuid}",
        **declare(
            operation_id="OperatorGetTenant",
            summary="One partner organisation",
            tag="Operator",
            level="A1",
            service="90",
            sequence=3,
            audience="operator",
            errors=(404,),
        ),
    )
    async def get_tenant(
        self,
        operator: Operator,
        tenant_id: FromPath[uuid.UUID],
    ) -> TenantRead:
        return tenant_read(await operator.get(tenant_id))

    @get(
        "/{tenant_id:uuid}/members",
        **declare(
            operation_id="OperatorListTenantMembers",
            summary="Members of a partner organisation",
            tag="Operator",
            level="A1",
            service="90",
            sequence=4,
            audience="operator",
            errors=(404,),
            fields=_MEMBER_FIELDS,
        ),
    )
    async def list_tenant_members(
        self,
        operator: Operator,
        tenant_id: FromPath[uuid.UUID],
    ) -> list[MemberRead]:
        return [member_read(m) for m in await operator.members_of(tenant_id)]

    @post(
        "/{tenant_id:uuid}/activate",
        status_code=200,
        **declare(
            operation_id="OperatorActivateTenant",
            summary="Activate (or reinstate) a partner",
            tag="Operator",
            level="A1",
            service="90",
            sequence=5,
            audience="operator",
            roles=("operator",),
            errors=(404, 409),
        ),
    )
    async def activate_tenant(
        self,
        operator: Operator,
        tenant_id: FromPath[uuid.UUID],
        data: JSONBody[TenantStatusChange],
    ) -> TenantRead:
        return tenant_read(
            await operator.change_status(tenant_id, TenantStatus.ACTIVE, data.reason)
        )

    @post(
        "/{tenant_id:uuid}/suspend",
        status_code=200,
        **declare(
            operation_id="OperatorSuspendTenant",
            summary="Suspend a partner",
            tag="Operator",
            level="A1",
            service="90",
            sequence=6,
            audience="operator",
            roles=("operator",),
            errors=(404, 409),
        ),
    )
    async def suspend_tenant(
        self,
        operator: Operator,
        tenant_id: FromPath[uuid.UUID],
        data: JSONBody[TenantStatusChange],
    ) -> TenantRead:
        return tenant_read(
            await operator.change_status(tenant_id, TenantStatus.SUSPENDED, data.reason)
        )
