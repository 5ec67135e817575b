"""HTTP for security alerts (bank staff): the anomaly monitor's findings, and acknowledging them."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Router, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from puhui.deps import Db, Subject
from puhui.gateway.catalogue import declare
from puhui.security.models import AlertStatus, SecurityAlert
from puhui.security.schemas import AlertAcknowledge, SecurityAlertRead
from puhui.security.service import SecurityAlertService

__all__ = ["SecurityAlertController", "security_router"]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
StatusFilter = Annotated[
    AlertStatus | None, QueryParameter(description="Only alerts in this status")
]


def alert_read(a: SecurityAlert) -> SecurityAlertRead:
    return SecurityAlertRead(
        **{name: getattr(a, name) for name in SecurityAlertRead.__struct_fields__}
    )


class SecurityAlertController(Controller):
    path = "/api/v1/operator/alerts"

    @get(
        "/",
        **declare(
            operation_id="OperatorListSecurityAlerts",
            summary="Security alerts: spikes of auth, signature, replay and quota failures",
            tag="Operator",
            level="A1",
            service="90",
            sequence=21,
            audience="operator",
        ),
    )
    async def list_alerts(
        self,
        db: Db,
        subject: Subject,
        status: StatusFilter = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[SecurityAlertRead]:
        alerts = await SecurityAlertService(db, subject).list(status, limit, offset)
        return [alert_read(a) for a in alerts]

    @post(
        "/{alert_id:uuid}/acknowledge",
        status_code=200,
        **declare(
            operation_id="OperatorAcknowledgeSecurityAlert",
            summary="Acknowledge a security alert",
            tag="Operator",
            level="A1",
            service="90",
            sequence=22,
            audience="operator",
            roles=("operator", "risk_officer"),
            errors=(404, 409),
        ),
    )
    async def acknowledge(
        self,
        db: Db,
        subject: Subject,
        alert_id: FromPath[uuid.UUID],
        data: JSONBody[AlertAcknowledge],
    ) -> SecurityAlertRead:
        alert = await SecurityAlertService(db, subject).acknowledge(alert_id, data.note)
        return alert_read(alert)


def security_router() -> Router:
    """The security domain's routes: audit search (partner, operator) and security alerts."""
    from puhui.audit.controllers import AuditController, OperatorAuditController

    return Router(
        path="/",
        route_handlers=[AuditController, OperatorAuditController, SecurityAlertController],
    )
