"""Production access: per app, the partner asks; the bank approves or refuses in the operator
console. Only an active tenant (agreement accepted, JR/T 0269 7.3.2 a) may ask."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, Forbidden, InvalidRequest
from puhui.oauth.clients import ClientRegistry, OperatorClientApproval
from puhui.oauth.models import ClientStatus, OAuthClient
from puhui.oauth.repository import ClientRepository
from puhui.onboarding.models import ProductionAccessRequest, RequestStatus
from puhui.onboarding.repository import PartnerDirectoryRepository, ProductionRequestRepository
from puhui.onboarding.schemas import ProductionRequestCreate
from puhui.tenancy.models import Tenant, TenantStatus
from puhui.tenancy.subject import AuthSubject

__all__ = ["PendingRequest", "ProductionAccess", "ProductionApproval"]


@dataclass(frozen=True)
class PendingRequest:
    request: ProductionAccessRequest
    tenant: Tenant
    client: OAuthClient


class ProductionAccess:
    """The partner's requests for its own apps."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.requests = ProductionRequestRepository(session)

    async def of_client(self, client: OAuthClient) -> Sequence[ProductionAccessRequest]:
        return await self.requests.of_client(client.id)

    async def request(
        self, client_pk: uuid.UUID, data: ProductionRequestCreate
    ) -> ProductionAccessRequest:
        client = await ClientRepository(self.session).get(client_pk)
        if not self.subject.has_role("owner", "admin"):
            raise Forbidden("Only an owner or admin can ask for production access.")
        errors = []
        if not 20 <= len(data.justification.strip()) <= 4000:
            errors.append(FieldError("justification", "20 to 4000 characters"))
        if not 0 < data.expected_monthly_calls <= 100_000_000:
            errors.append(FieldError("expected_monthly_calls", "between 1 and 100,000,000"))
        if errors:
            raise InvalidRequest(errors=errors)
        tenant = await PartnerDirectoryRepository(self.session).get(self.subject.tenant_id)
        if tenant.status is not TenantStatus.ACTIVE:
            raise Conflict("Production access needs an accepted cooperation agreement first.")
        if any(r.status is RequestStatus.PENDING for r in await self.requests.of_client(client.id)):
            raise Conflict("A request for this app is already waiting for the bank.")
        # The OAuth registry checks the client itself (live, sandbox, private_key_jwt) and audits.
        await ClientRegistry(self.session, self.subject).request_production(client.id)
        row = self.requests.add(
            ProductionAccessRequest(
                tenant_id=self.subject.tenant_id,
                oauth_client_pk=client.id,
                client_id=client.client_id,
                justification=data.justification.strip(),
                expected_monthly_calls=data.expected_monthly_calls,
                status=RequestStatus.PENDING,
                requested_by=self.subject.member_id,
            )
        )
        await self.requests.flush()
        record_event(
            self.session,
            "onboarding.production_requested",
            subject=self.subject,
            target_tenant_id=self.subject.tenant_id,
            target=f"oauth_client:{client.client_id}",
            details={"request_id": str(row.id)},
        )
        return row


class ProductionApproval:
    """The bank's decision, across tenants (audited bypass)."""

    def __init__(self, session: AsyncSession, subject: AuthSubject, client_ip: str | None) -> None:
        if not subject.is_bank_staff or not subject.has_role("operator"):
            raise Forbidden("Only a bank operator decides production access.")
        self.session = session
        self.subject = subject
        self.client_ip = client_ip
        self.requests = ProductionRequestRepository(session)

    async def queue(self) -> list[PendingRequest]:
        with tenant_bypass(self.session, reason="operator.production_queue"):
            rows = await self.requests.recent()
            tenants = PartnerDirectoryRepository(self.session)
            clients = ClientRepository(self.session)
            return [
                PendingRequest(
                    r, await tenants.get(r.tenant_id), await clients.get(r.oauth_client_pk)
                )
                for r in rows
            ]

    async def decide(self, request_id: uuid.UUID, *, approve: bool, reason: str) -> PendingRequest:
        if not 5 <= len(reason.strip()) <= 500:
            raise InvalidRequest(errors=[FieldError("reason", "5 to 500 characters")])
        with tenant_bypass(self.session, reason="operator.production_decision"):
            row = await self.requests.get(request_id)
            if row.status is not RequestStatus.PENDING:
                raise Conflict(f"This request is already {row.status.value}.")
            tenant = await PartnerDirectoryRepository(self.session).get(row.tenant_id)
            client = await ClientRepository(self.session).get(row.oauth_client_pk)
            if approve and tenant.status is not TenantStatus.ACTIVE:
                raise Conflict("The partner is not active.")
            row.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
            row.decided_by = self.subject.member_id
            row.decided_at = utcnow()
            row.decision_reason = reason.strip()
            if not approve and client.status is ClientStatus.PRODUCTION_REQUESTED:
                client.status = ClientStatus.ACTIVE  # back to a working sandbox client
            await self.session.flush()
        if approve:
            # The OAuth domain promotes the client (production plan, DPoP required) and audits.
            client = await OperatorClientApproval(
                self.session, self.subject, self.client_ip
            ).approve(client.id, reason.strip())
        record_event(
            self.session,
            "operator.production_request_approved"
            if approve
            else "operator.production_request_refused",
            subject=self.subject,
            target_tenant_id=tenant.id,
            target=f"oauth_client:{client.client_id}",
            reason=reason.strip(),
            client_ip=self.client_ip,
        )
        return PendingRequest(row, tenant, client)
