"""Consent rules: creation, the lifecycle, receipts, partner events and audit. Never commits.

Lifecycle (JR/T 0269 6.3.2 e): awaiting_authorisation -> authorised -> revoked | expired, or
awaiting_authorisation -> rejected | expired | revoked (the partner withdraws its request).
Every change appends a history row, and after the flush publishes the new state to the board so
enforcement sees it on the next call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from connectors.uscc import is_valid_uscc
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.consent.catalogue import DATA_ITEMS
from puhui.consent.models import (
    Consent,
    ConsentEvent,
    ConsentHistory,
    ConsentPurpose,
    ConsentReceipt,
    ConsentStatus,
)
from puhui.consent.receipts import issue_receipt
from puhui.consent.schemas import ConsentCreate
from puhui.consent.status import ConsentBoard
from puhui.customers.models import CustomerUser, Enterprise
from puhui.customers.repository import EnterpriseRepository
from puhui.errors import Conflict, FieldError, Forbidden, InvalidRequest
from puhui.oauth.families import revoke_consent_grants
from puhui.tenancy.models import Tenant
from puhui.tenancy.subject import AuthSubject
from puhui.webhooks import record_partner_event

if TYPE_CHECKING:
    from puhui.oauth.runtime import OAuthRuntime

__all__ = [
    "AUTHORISE_WITHIN",
    "BANK_NAME",
    "amend_consent",
    "authorise_consent",
    "create_consent",
    "expire_consent",
    "reject_consent",
    "revoke_consent",
]

AUTHORISE_WITHIN = timedelta(hours=24)  # an unanswered request lapses after this
BANK_NAME = "普惠银行 Puhui Bank"

_NEXT: dict[ConsentStatus, frozenset[ConsentStatus]] = {
    ConsentStatus.AWAITING_AUTHORISATION: frozenset(
        {
            ConsentStatus.AUTHORISED,
            ConsentStatus.REJECTED,
            ConsentStatus.EXPIRED,
            ConsentStatus.REVOKED,
        }
    ),
    ConsentStatus.AUTHORISED: frozenset({ConsentStatus.REVOKED, ConsentStatus.EXPIRED}),
}


def _validated_items(data: ConsentCreate) -> list[dict[str, object]]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    items: list[dict[str, object]] = []
    for index, request in enumerate(data.data_items):
        if request.source in seen:
            errors.append(FieldError(f"data_items[{index}].source", "source named twice"))
        seen.add(request.source)
        known = DATA_ITEMS[request.source]
        unknown = sorted(set(request.items) - set(known))
        if unknown:
            errors.append(
                FieldError(
                    f"data_items[{index}].items",
                    f"not data items of {request.source}: {', '.join(unknown)}",
                )
            )
        items.append(
            {
                "source": request.source,
                "items": sorted(set(request.items)),
                "lookback_months": request.lookback_months,
            }
        )
    if errors:
        raise InvalidRequest("Some data items are not known.", errors=errors)
    return items


async def create_consent(
    session: AsyncSession, settings: Settings, subject: AuthSubject, data: ConsentCreate
) -> Consent:
    """A partner client's request for consent: awaiting the customer's authorisation."""
    if subject.kind != "client" or subject.client_id is None:
        raise Forbidden("Consents are requested by an OAuth client.")
    errors: list[FieldError] = []
    if not is_valid_uscc(data.enterprise_uscc):
        errors.append(FieldError("enterprise_uscc", "not a valid unified social credit code"))
    purposes = sorted(set(data.purposes))
    if ConsentPurpose.MARKETING.value in purposes and len(purposes) > 1:
        # Marketing is asked for separately, never bundled with credit purposes.
        errors.append(FieldError("purposes", "marketing needs a consent of its own, never bundled"))
    validity = data.validity_days or settings.consent_default_validity_days
    if validity > settings.consent_max_validity_days:
        errors.append(
            FieldError("validity_days", f"at most {settings.consent_max_validity_days} days")
        )
    if errors:
        raise InvalidRequest("The consent request is not acceptable.", errors=errors)
    now = utcnow()
    consent = Consent(
        id=uuid.uuid4(),
        tenant_id=subject.tenant_id,
        client_id=subject.client_id,
        enterprise_uscc=data.enterprise_uscc,
        status=ConsentStatus.AWAITING_AUTHORISATION,
        purposes=purposes,
        data_items=_validated_items(data),
        validity_days=validity,
        uses_per_day=data.uses_per_day,
        authorise_by=now + AUTHORISE_WITHIN,
    )
    session.add(consent)
    _append_history(session, consent, None, "partner", "requested")
    record_event(session, "consent.requested", subject=subject, target=f"consent:{consent.id}")
    await session.flush()
    return consent


def _append_history(
    session: AsyncSession,
    consent: Consent,
    from_status: ConsentStatus | None,
    actor: str,
    reason: str | None,
) -> None:
    session.add(
        ConsentHistory(
            tenant_id=consent.tenant_id,
            consent_id=consent.id,
            from_status=from_status.value if from_status else None,
            to_status=consent.status.value,
            actor=actor,
            occurred_at=utcnow(),
            reason=reason,
        )
    )


def _move(
    session: AsyncSession, consent: Consent, to: ConsentStatus, actor: str, reason: str | None
) -> None:
    if to not in _NEXT.get(consent.status, frozenset()):
        raise Conflict(f"The consent is {consent.status.value}; it cannot become {to.value}.")
    before = consent.status
    consent.status = to
    if to in {ConsentStatus.REVOKED, ConsentStatus.EXPIRED, ConsentStatus.REJECTED}:
        consent.ended_at = utcnow()
        consent.ended_by = actor
    _append_history(session, consent, before, actor, reason)


async def _receipt(
    session: AsyncSession, consent: Consent, event: ConsentEvent, issuer: str
) -> ConsentReceipt:
    partner = await session.get(Tenant, consent.tenant_id)
    enterprise = await EnterpriseRepository(session).by_uscc(consent.enterprise_uscc)
    receipt = issue_receipt(
        consent,
        event,
        issuer=issuer,
        bank_name=BANK_NAME,
        partner_name=partner.name if partner else str(consent.tenant_id),
        enterprise_name=enterprise.name if enterprise else None,
    )
    session.add(receipt)
    return receipt


async def authorise_consent(
    session: AsyncSession,
    board: ConsentBoard,
    consent: Consent,
    customer: CustomerUser,
    enterprise: Enterprise,
    *,
    issuer: str,
) -> ConsentReceipt:
    """The customer grants: bind the consent to them, start its validity, issue a receipt."""
    now = utcnow()
    if enterprise.id != customer.enterprise_id or enterprise.uscc != consent.enterprise_uscc:
        raise Forbidden("This consent is for another enterprise.")
    if consent.status is ConsentStatus.AWAITING_AUTHORISATION and consent.authorise_by <= now:
        raise Conflict("The consent request has lapsed; ask the partner to start again.")
    _move(session, consent, ConsentStatus.AUTHORISED, "customer", None)
    consent.customer_user_id = customer.id
    consent.granted_at = now
    consent.valid_until = now + timedelta(days=consent.validity_days)
    await session.flush()
    receipt = await _receipt(session, consent, ConsentEvent.GRANTED, issuer)
    record_event(
        session,
        "consent.authorised",
        target_tenant_id=consent.tenant_id,
        target=f"consent:{consent.id}",
        details={"customer": str(customer.id), "receipt": str(receipt.id)},
    )
    await session.flush()
    await board.publish(consent)
    return receipt


async def amend_consent(
    session: AsyncSession,
    board: ConsentBoard,
    consent: Consent,
    keep: Mapping[str, Iterable[str]],
    *,
    actor: str,
    issuer: str,
) -> ConsentReceipt:
    """Narrow an authorised consent to ``keep`` (source -> items); never widens it.

    Widening needs the customer's fresh consent (a new request); narrowing takes effect at once
    and is receipted like any other change (JR/T 0269 6.1, minimum necessary).
    """
    if consent.status is not ConsentStatus.AUTHORISED:
        raise Conflict(f"The consent is {consent.status.value}; only an authorised one is amended.")
    granted = {str(e["source"]): set(map(str, e["items"])) for e in consent.data_items}
    wanted = {source: set(items) for source, items in keep.items()}
    wider = [s for s, items in wanted.items() if not items <= granted.get(s, set())]
    if wider:
        raise InvalidRequest(
            "An amendment can only remove items.",
            errors=[FieldError("data_items", f"not granted: {', '.join(sorted(wider))}")],
        )
    narrowed = [
        {**entry, "items": sorted(wanted[str(entry["source"])])}
        for entry in consent.data_items
        if wanted.get(str(entry["source"]))
    ]
    if not narrowed:
        raise InvalidRequest(
            "Nothing would be left; revoke the consent instead.",
            errors=[FieldError("data_items", "keep at least one item")],
        )
    consent.data_items = narrowed
    _append_history(session, consent, consent.status, actor, "amended: items narrowed")
    await session.flush()
    receipt = await _receipt(session, consent, ConsentEvent.AMENDED, issuer)
    record_partner_event(
        session,
        consent.tenant_id,
        "consent.amended",
        f"consent:{consent.id}",
        {"consent_id": str(consent.id), "client_id": consent.client_id, "data_items": narrowed},
    )
    record_event(
        session,
        "consent.amended",
        target_tenant_id=consent.tenant_id,
        target=f"consent:{consent.id}",
        details={"by": actor},
    )
    await session.flush()
    await board.publish(consent)
    return receipt


async def reject_consent(
    session: AsyncSession, board: ConsentBoard, consent: Consent, customer: CustomerUser
) -> None:
    """The customer declines the request."""
    _move(session, consent, ConsentStatus.REJECTED, "customer", None)
    consent.customer_user_id = customer.id
    record_event(
        session,
        "consent.rejected",
        target_tenant_id=consent.tenant_id,
        target=f"consent:{consent.id}",
        details={"customer": str(customer.id)},
    )
    await session.flush()
    await board.publish(consent)


async def revoke_consent(
    session: AsyncSession,
    board: ConsentBoard,
    consent: Consent,
    *,
    actor: str,
    issuer: str,
    subject: AuthSubject | None = None,
    reason: str | None = None,
    tokens: OAuthRuntime | None = None,
) -> ConsentReceipt | None:
    """Revoke at once (customer or partner); the partner is told by a ``consent.revoked`` event.

    With ``tokens`` (the OAuth runtime) every token family issued under the consent is revoked
    too: its refresh tokens die and its access tokens go on the revocation list.
    """
    was_authorised = consent.status is ConsentStatus.AUTHORISED
    _move(session, consent, ConsentStatus.REVOKED, actor, reason)
    await session.flush()
    families = await revoke_consent_grants(session, tokens, consent.id) if tokens else 0
    receipt = (
        await _receipt(session, consent, ConsentEvent.REVOKED, issuer) if was_authorised else None
    )
    record_partner_event(
        session,
        consent.tenant_id,
        "consent.revoked",
        f"consent:{consent.id}",
        {
            "consent_id": str(consent.id),
            "client_id": consent.client_id,
            "revoked_by": actor,
            "revoked_at": consent.ended_at.isoformat() if consent.ended_at else None,
        },
    )
    record_event(
        session,
        "consent.revoked",
        subject=subject,
        target_tenant_id=consent.tenant_id,
        target=f"consent:{consent.id}",
        reason=reason,
        details={"by": actor, "token_families_revoked": families},
    )
    await session.flush()
    await board.publish(consent)
    return receipt


async def expire_consent(
    session: AsyncSession,
    board: ConsentBoard,
    consent: Consent,
    *,
    issuer: str,
    tokens: OAuthRuntime | None = None,
) -> ConsentReceipt | None:
    """Validity (or the time to answer) has run out: expire, receipt if it was granted, tell.

    With ``tokens``, the token families issued under the consent are revoked as well.
    """
    was_authorised = consent.status is ConsentStatus.AUTHORISED
    _move(session, consent, ConsentStatus.EXPIRED, "system", "validity ended")
    await session.flush()
    if tokens is not None:
        await revoke_consent_grants(session, tokens, consent.id)
    receipt = (
        await _receipt(session, consent, ConsentEvent.EXPIRED, issuer) if was_authorised else None
    )
    record_partner_event(
        session,
        consent.tenant_id,
        "consent.expired",
        f"consent:{consent.id}",
        {"consent_id": str(consent.id), "client_id": consent.client_id},
    )
    record_event(
        session,
        "consent.expired",
        target_tenant_id=consent.tenant_id,
        target=f"consent:{consent.id}",
    )
    await session.flush()
    await board.publish(consent)
    return receipt
