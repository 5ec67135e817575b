"""Pre-qualified offers for embedding (JR/T 0269 8.4.2): limit model on stored features.

Lifecycle created → delivered (the partner acknowledges showing it) → accepted | rejected, or
expired | revoked by the bank. Every change is recorded as an `offer.*` partner event.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.errors import Conflict, Forbidden, NotFound
from puhui.lending.models import Offer, OfferStatus
from puhui.lending.products import ProductSpec, cost_example, to_decision_product
from puhui.lending.repository import ConsentedEnterprise, OfferRepository
from puhui.lending.service import FeatureLookup, ProductCatalogue
from puhui.risk.inputs import admission_facts, repayment_capacity, scorecard_features
from puhui.risk.limits import assess_limit
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry, RuleSetRegistry
from puhui.risk.rules import Action
from puhui.tenancy.models import Tenant
from puhui.tenancy.subject import AuthSubject
from puhui.webhooks import record_partner_event

__all__ = ["OFFER_TRANSITIONS", "OfferService", "move_offer", "require_consent_for"]

OFFER_TRANSITIONS: Final[dict[OfferStatus, frozenset[OfferStatus]]] = {
    OfferStatus.CREATED: frozenset(
        {OfferStatus.DELIVERED, OfferStatus.EXPIRED, OfferStatus.REVOKED}
    ),
    OfferStatus.DELIVERED: frozenset(
        {OfferStatus.ACCEPTED, OfferStatus.REJECTED, OfferStatus.EXPIRED, OfferStatus.REVOKED}
    ),
}


async def require_consent_for(session: AsyncSession, subject: AuthSubject, uscc: str) -> None:
    """Account data is used only under the customer's consent for this enterprise (A2).

    The pipeline has already checked that the consent is current; this checks what it covers.
    """
    if subject.consent_id is None:
        raise Forbidden("This operation needs a token issued under the customer's consent.")
    if await ConsentedEnterprise(session).uscc_of(subject.consent_id) != uscc:
        raise Forbidden("The customer's consent does not cover this enterprise.")


class OfferService:
    """Offers of one partner to its consented customers."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.offers = OfferRepository(session)

    async def prequalify(self, uscc: str, features: FeatureLookup) -> list[Offer]:
        """Offer every product the partner may distribute whose limit on stored data is usable."""
        await require_consent_for(self.session, self.subject, uscc)
        stored = await features(self.session, uscc)
        if stored is None:
            raise Conflict("No scenario data is stored for this enterprise yet.")
        now = utcnow()
        tenant = await self.session.get(Tenant, self.subject.tenant_id)
        channel = tenant.code if tenant is not None else ""
        ruleset = await RuleSetRegistry(self.session).in_force(now)
        if ruleset.evaluate(admission_facts(stored, applicant_is_legal_rep=True)).outcome is (
            Action.DECLINE
        ):
            return []
        scored = (await ModelRegistry(self.session).active_scorer()).score(
            scorecard_features(stored)
        )
        made: list[Offer] = []
        for row, spec in await ProductCatalogue(self.session).in_force(now):
            capacity = repayment_capacity(stored, spec.mitigations)
            rate = spec.pricing.get(scored.grade)
            if channel not in spec.partner_channels or rate is None:
                continue
            if scored.grade in spec.routing.decline_grades:
                continue
            limit = assess_limit(
                capacity,
                grade=scored.grade,
                annual_rate=rate,
                bounds=to_decision_product(spec).bounds,
                policy=SANDBOX_LIMIT_POLICY,
            )
            if limit.limit_fen < spec.min_amount_fen:
                continue
            made.append(self._make(row.version, spec, uscc, limit.limit_fen, rate, scored.grade))
        await self.offers.flush()
        for offer in made:
            self._event(offer, "offer.created")
        return made

    def _make(
        self, version: int, spec: ProductSpec, uscc: str, max_fen: int, rate: Decimal, grade: str
    ) -> Offer:
        now = utcnow()
        example = cost_example(
            spec,
            principal_fen=max_fen,
            term_months=spec.max_term_months,
            annual_rate=rate,
            method=spec.repayment_methods[0],
            start=now.date(),
        )
        return self.offers.add(
            Offer(
                tenant_id=self.subject.tenant_id,
                client_id=self.subject.client_id,
                consent_id=self.subject.consent_id,
                customer_id=self.subject.customer_id,
                uscc=uscc,
                product_code=spec.code,
                product_version=version,
                min_amount_fen=spec.min_amount_fen,
                max_amount_fen=max_fen,
                term_options=list(spec.term_options_months),
                annual_rate=str(rate),
                apr_percent=str(example.apr_percent),
                cost_example=msgspec.to_builtins(example),
                grade=grade,
                status=OfferStatus.CREATED,
                expires_at=now + timedelta(days=spec.offer_validity_days),
                status_changed_at=now,
            )
        )

    async def get(self, offer_id: uuid.UUID) -> Offer:
        offer = await self.offers.get(offer_id)
        if offer.status in OFFER_TRANSITIONS and offer.expires_at <= utcnow():
            self._move(offer, OfferStatus.EXPIRED)
        return offer

    async def acknowledge(self, offer_id: uuid.UUID) -> Offer:
        return await self.change(offer_id, OfferStatus.DELIVERED)

    async def change(self, offer_id: uuid.UUID, to: OfferStatus) -> Offer:
        offer = await self.get(offer_id)
        if to not in OFFER_TRANSITIONS.get(offer.status, frozenset()):
            raise Conflict(f"A {offer.status.value} offer cannot become {to.value}.")
        self._move(offer, to)
        return offer

    async def usable(self, offer_id: uuid.UUID, uscc: str) -> Offer:
        """An accepted or delivered offer of this enterprise, to apply under."""
        offer = await self.get(offer_id)
        if offer.uscc != uscc:
            raise NotFound("No such offer for this enterprise.")
        if offer.status not in {OfferStatus.DELIVERED, OfferStatus.ACCEPTED}:
            raise Conflict(f"A {offer.status.value} offer cannot be applied for.")
        return offer

    def _move(self, offer: Offer, to: OfferStatus) -> None:
        move_offer(self.session, offer, to)

    def _event(self, offer: Offer, event_type: str) -> None:
        _offer_event(self.session, offer, event_type)


def move_offer(session: AsyncSession, offer: Offer, to: OfferStatus) -> None:
    """Change an offer's status and record the `offer.*` partner event (no transition check)."""
    offer.status = to
    offer.status_changed_at = utcnow()
    _offer_event(session, offer, f"offer.{to.value}")


def _offer_event(session: AsyncSession, offer: Offer, event_type: str) -> None:
    record_partner_event(
        session,
        offer.tenant_id,
        event_type,
        f"offer:{offer.id}",
        {
            "offer_id": str(offer.id),
            "status": offer.status.value,
            "product": offer.product_code,
        },
    )
