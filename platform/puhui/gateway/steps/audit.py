"""Step 13, audit record: every API call and every refusal becomes one chained audit record,
group-committed by `puhui.audit.writer.AuditWriter`; the response completes only after it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from puhui.clock import utcnow
from puhui.gateway.catalogue import ApiSpec
from puhui.gateway.steps.controls import GatewayControls
from puhui.security.alerts import alert_kind_for
from puhui.tenancy.subject import AuthSubject

__all__ = ["audit_call", "report_refusal"]


def audit_call(
    controls: GatewayControls,
    *,
    spec: ApiSpec,
    subject: AuthSubject | None,
    method: str,
    status: int,
    started: float,
    request_id: str,
    client_ip: str | None,
    idempotency_key: str | None = None,
    problem: str | None = None,
) -> asyncio.Future[None]:
    """Queue the call's record; await the future before the response's last byte is sent."""
    outcome = "success" if status < 400 else ("refused" if problem else "failure")
    details: dict[str, Any] = {"method": method}
    if problem is not None:
        details["problem"] = problem
    if idempotency_key is not None:
        details["idempotency_key"] = idempotency_key
    return controls.audit.submit(
        {
            "occurred_at": utcnow(),
            "action": f"api.{spec.operation_id}",
            "outcome": outcome,
            "actor_tenant_id": subject.tenant_id if subject else None,
            "actor_member_id": subject.member_id if subject else None,
            "actor_client_id": subject.client_id if subject else None,
            "target_tenant_id": subject.tenant_id if subject else None,
            "api_id": spec.api_id,
            "api_level": spec.level,
            "consent_id": subject.consent_id if subject else None,
            "status_code": status,
            "latency_us": int((time.perf_counter() - started) * 1_000_000),
            "request_id": request_id,
            "client_ip": client_ip,
            "details": details,
        }
    )


async def report_refusal(
    controls: GatewayControls,
    *,
    subject: AuthSubject | None,
    problem: str | None,
    status: int,
    client_ip: str | None,
) -> None:
    """Feed a refused call to the anomaly monitor (alerts for spikes)."""
    kind = alert_kind_for(problem, status)
    if kind is None:
        return
    await controls.monitor.report(
        kind,
        tenant_id=subject.tenant_id if subject else None,
        client_id=subject.client_id if subject else None,
        source_ip=client_ip,
    )
