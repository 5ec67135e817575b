"""HTTP for the audit trail: a partner searches its own records, bank staff search all."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from puhui.audit.models import AuditRecord
from puhui.audit.repository import AuditRepository
from puhui.audit.schemas import AuditRecordRead
from puhui.deps import Db, Subject
from puhui.gateway.catalogue import declare

__all__ = ["AuditController", "OperatorAuditController"]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
Since = Annotated[datetime | None, QueryParameter(description="Records at or after (RFC 3339)")]
Until = Annotated[datetime | None, QueryParameter(description="Records before (RFC 3339)")]
Text = Annotated[str | None, QueryParameter(max_length=128)]
TenantFilter = Annotated[uuid.UUID | None, QueryParameter(description="Actor or target tenant")]


def audit_read(r: AuditRecord) -> AuditRecordRead:
    return AuditRecordRead(**{name: getattr(r, name) for name in AuditRecordRead.__struct_fields__})


class AuditController(Controller):
    path = "/api/v1/audit/records"

    @get(
        "/",
        **declare(
            operation_id="SearchAuditRecords",
            summary="Audit records of the caller's organisation (newest first)",
            tag="Audit",
            level="A1",
            service="12",
            sequence=1,
            audience="member",
            roles=("owner", "admin", "auditor"),
        ),
    )
    async def search(
        self,
        db: Db,
        subject: Subject,
        since: Since = None,
        until: Until = None,
        action: Text = None,
        api_id: Text = None,
        outcome: Text = None,
        request_id: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[AuditRecordRead]:
        rows = await AuditRepository(db).search(
            tenant_id=subject.tenant_id,
            since=since,
            until=until,
            action=action,
            api_id=api_id,
            outcome=outcome,
            request_id=request_id,
            limit=limit,
            offset=offset,
        )
        return [audit_read(r) for r in rows]


class OperatorAuditController(Controller):
    path = "/api/v1/operator/audit/records"

    @get(
        "/",
        **declare(
            operation_id="OperatorSearchAuditRecords",
            summary="Audit records across partners (bank staff)",
            tag="Operator",
            level="A1",
            service="90",
            sequence=20,
            audience="operator",
            roles=("operator", "auditor", "risk_officer"),
        ),
    )
    async def search(
        self,
        db: Db,
        tenant_id: TenantFilter = None,
        since: Since = None,
        until: Until = None,
        action: Text = None,
        api_id: Text = None,
        outcome: Text = None,
        request_id: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[AuditRecordRead]:
        rows = await AuditRepository(db).search(
            tenant_id=tenant_id,
            since=since,
            until=until,
            action=action,
            api_id=api_id,
            outcome=outcome,
            request_id=request_id,
            limit=limit,
            offset=offset,
        )
        return [audit_read(r) for r in rows]
