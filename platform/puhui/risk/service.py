"""Credit decisions on stored data: gather fraud context, decide, persist, replay; unified limits.

The bank's risk engine reads across partners on purpose: velocity, device reuse and rings are
only visible across channels (JR/T 0269 9.6), and a customer's limit is one umbrella for every
product and partner (9.3.1). Those reads run under an explicit tenant bypass with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, NotFound
from puhui.lending.models import Application
from puhui.risk.decision import (
    DecisionInputs,
    DecisionRecord,
    Product,
    ReplayMismatchError,
    decide,
    replay,
)
from puhui.risk.fraud import (
    ApplicationEvent,
    BlacklistEntry,
    BlacklistKind,
    EnterpriseAttributes,
    FraudContext,
    FraudSubject,
    IdentityClaims,
)
from puhui.risk.inputs import (
    StoredFeatures,
    admission_facts,
    repayment_capacity,
    scorecard_features,
)
from puhui.risk.limits import (
    CreditLimit,
    ExposureBasis,
    LimitError,
    LimitEvent,
    LimitState,
    OverCreditingError,
    SubLimit,
)
from puhui.risk.models import CreditDecision, CreditLimitEventRow, CustomerCreditLimit
from puhui.risk.registry import SANDBOX_LIMIT_POLICY, ModelRegistry, RuleSetRegistry
from puhui.risk.repository import BlacklistRepository, CreditLimitRepository, DecisionRepository
from puhui.risk.rules import Action

__all__ = [
    "SANCTIONS_SOURCE",
    "WATCH_SOURCE",
    "CreditLimitService",
    "DecisionService",
    "IdentityEvidence",
    "customer_capacity",
]

_FRAUD_LOOKBACK: Final = timedelta(days=30)
# Blacklist rows from these sources are AML/CFT screening lists (9.2.2 a), not fraud lists.
SANCTIONS_SOURCE: Final = "sanctions"
WATCH_SOURCE: Final = "watch"
_SCREENING: Final = frozenset({SANCTIONS_SOURCE, WATCH_SOURCE})
_LIMIT_TERM: Final = timedelta(days=365)


class IdentityEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """Names of the enterprise and its representative as other sources report them (9.6)."""

    tax_registered_name: str | None = None
    enterprise_names: dict[str, str] = msgspec.field(default_factory=dict)
    legal_rep_name: str | None = None
    phone_owner_name: str | None = None


class DecisionService:
    """Decide an application from stored features and persist the reproducible record."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.decisions = DecisionRepository(session)

    async def decide(
        self,
        application: Application,
        product: Product,
        features: StoredFeatures,
        identity: IdentityEvidence,
    ) -> CreditDecision:
        at = utcnow()
        ruleset = await RuleSetRegistry(self.session).in_force(at)
        scorer = await ModelRegistry(self.session).active_scorer()
        facts = admission_facts(
            features,
            applicant_is_legal_rep=_same_person(
                application.contact_name, application.legal_rep_name
            ),
        )
        listed = {
            row.source
            for row in await BlacklistRepository(self.session).matching([application.uscc], at)
            if row.source in _SCREENING and row.valid_from <= at
        }
        facts = msgspec.structs.replace(  # screened against the bank's lists (AML/CFT)
            facts,
            on_sanctions_list=SANCTIONS_SOURCE in listed,
            on_watch_list=WATCH_SOURCE in listed,
        )
        inputs = DecisionInputs(
            application_id=str(application.id),
            customer_id=application.uscc,
            product_code=product.code,
            facts=facts,
            features=scorecard_features(features),
            capacity=repayment_capacity(features),
            data_as_of=dict(features.as_of_by_source),
            requested_amount_fen=application.amount_fen,
        )
        fraud = await self._fraud_context(application, identity, at)
        record = decide(inputs, ruleset, fraud, scorer, SANDBOX_LIMIT_POLICY, product, at=at)
        return self._store(application, record)

    async def get(self, decision_id: uuid.UUID) -> CreditDecision:
        return await self.decisions.get(decision_id)

    async def replay(self, decision_id: uuid.UUID) -> DecisionRecord:
        """Re-run a stored decision with its own rule-set and model versions; 409 if it differs."""
        row = await self.decisions.get(decision_id)
        record = DecisionRecord.from_json(row.record.encode("utf-8"))
        ruleset = await RuleSetRegistry(self.session).exact(
            record.ruleset_id, record.ruleset_version
        )
        scorer = await ModelRegistry(self.session).exact(record.model_id, record.model_version)
        try:
            return replay(record, ruleset, scorer)
        except ReplayMismatchError as exc:
            raise Conflict(f"Replay did not reproduce the decision: {exc}") from exc

    def _store(self, application: Application, record: DecisionRecord) -> CreditDecision:
        return self.decisions.add(
            CreditDecision(
                tenant_id=application.tenant_id,
                application_id=application.id,
                uscc=application.uscc,
                product_code=record.product_code,
                product_version=record.product_version,
                route=record.route.value,
                grade=record.score.grade,
                score=record.score.score,
                limit_fen=record.limit_fen,
                annual_rate=None if record.annual_rate is None else str(record.annual_rate),
                ruleset_id=record.ruleset_id,
                ruleset_version=record.ruleset_version,
                model_id=record.model_id,
                model_version=record.model_version,
                input_hash=record.input_hash,
                record_hash=record.record_hash,
                decided_at=record.decided_at,
                record=record.to_json().decode("utf-8"),
            )
        )

    async def _fraud_context(
        self, application: Application, identity: IdentityEvidence, at: datetime
    ) -> FraudContext:
        subject = FraudSubject(
            application_id=str(application.id),
            at=at,
            uscc=application.uscc,
            phone=application.contact_phone,
            device_id=application.device_id,
            ip=application.client_ip,
        )
        with tenant_bypass(self.session, reason="risk.fraud_checks"):  # JR/T 0269 9.6
            recent = await self._recent_applications(application, at)
        events = tuple(
            ApplicationEvent(
                application_id=str(row.id),
                at=row.created_at,
                uscc=row.uscc,
                phone=row.contact_phone,
                device_id=row.device_id,
                ip=row.client_ip,
            )
            for row in recent
            if row.id != application.id
        )
        blacklist = await BlacklistRepository(self.session).matching(
            [application.uscc, subject.phone or "", subject.device_id or "", subject.ip or ""], at
        )
        return FraudContext(
            subject=subject,
            recent_events=events,
            blacklist_candidates=tuple(
                BlacklistEntry(
                    kind=BlacklistKind(row.kind),
                    value=row.value,
                    valid_from=row.valid_from,
                    valid_to=row.valid_to,
                    action=Action(row.action),
                    source=row.source,
                )
                for row in blacklist
                if row.source not in _SCREENING
            ),
            identity=IdentityClaims(
                tax_registered_name=identity.tax_registered_name,
                enterprise_names={"application": application.enterprise_name}
                | identity.enterprise_names,
                legal_rep_name=identity.legal_rep_name,
                applicant_legal_rep_name=application.legal_rep_name,
                phone_owner_name=identity.phone_owner_name,
            ),
            neighbourhood=_neighbourhood(recent),
        )

    async def _recent_applications(
        self, application: Application, at: datetime
    ) -> Sequence[Application]:
        """Applications of the last 30 days sharing the enterprise, phone, device or IP."""
        links = [Application.uscc == application.uscc]
        if application.contact_phone_bidx:
            links.append(Application.contact_phone_bidx == application.contact_phone_bidx)
        if application.device_id:
            links.append(Application.device_id == application.device_id)
        if application.client_ip:
            links.append(Application.client_ip == application.client_ip)
        stmt = (
            select(Application)
            .where(Application.created_at >= at - _FRAUD_LOOKBACK, or_(*links))
            .order_by(Application.created_at)
            .limit(500)
        )
        return (await self.session.execute(stmt)).scalars().all()


def _neighbourhood(rows: Sequence[Application]) -> tuple[EnterpriseAttributes, ...]:
    """Enterprises linked through shared phones and devices, one node per enterprise (rings)."""
    phones: dict[str, set[str]] = {}
    devices: dict[str, set[str]] = {}
    for row in rows:
        phone = row.contact_phone
        if phone:
            phones.setdefault(row.uscc, set()).add(phone)
        if row.device_id:
            devices.setdefault(row.uscc, set()).add(row.device_id)
    return tuple(
        EnterpriseAttributes(
            uscc=uscc,
            phones=tuple(sorted(phones.get(uscc, ()))),
            devices=tuple(sorted(devices.get(uscc, ()))),
        )
        for uscc in sorted(set(phones) | set(devices))
    )


def customer_capacity(record: DecisionRecord) -> int:
    """What the customer can carry across products (9.3.1): the limit before the request cap."""
    if record.limit is None:
        return record.limit_fen
    uncapped = min(
        record.limit.graded_fen + record.limit.mitigation_fen, record.limit.revenue_cap_fen
    )
    return max(record.limit_fen, uncapped - uncapped % 100_00)


def _same_person(a: str, b: str) -> bool:
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def _to_domain(row: CustomerCreditLimit) -> CreditLimit:
    return CreditLimit(
        limit_id=str(row.id),
        customer_id=row.uscc,
        total_fen=row.total_fen,
        expires_at=row.expires_at,
        basis=ExposureBasis(row.basis),
        state=LimitState(row.state),
        sub_limits=tuple(msgspec.convert(sub, SubLimit) for sub in row.sub_limits),
    )


class CreditLimitService:
    """The customer's umbrella limit: every change stored as an event (JR/T 0269 9.3.1)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.limits = CreditLimitRepository(session)

    async def get(self, uscc: str) -> CustomerCreditLimit:
        row = await self.limits.by_uscc(uscc)
        if row is None:
            raise NotFound("This customer has no credit limit.")
        return row

    async def events(self, row: CustomerCreditLimit) -> Sequence[CreditLimitEventRow]:
        return await self.limits.events(row.id)

    async def occupy_for_approval(
        self,
        uscc: str,
        product_code: str,
        assessed_fen: int,
        amount_fen: int,
        *,
        partner_tenant_id: uuid.UUID,
        reference: str,
    ) -> CreditLimit:
        """Grant (or widen a sub-limit within) the umbrella, then occupy; refuses over-crediting.

        The umbrella total is the customer's capacity and is not raised by a second product or
        partner: a new product gets a sub-limit inside it, so exposure can never exceed it.
        """
        row = await self.limits.by_uscc(uscc)
        now = utcnow()
        if row is None:
            limit = CreditLimit.grant(
                limit_id=str(uuid.uuid4()),
                customer_id=uscc,
                total_fen=assessed_fen,
                sub_limits={product_code: assessed_fen},
                expires_at=now + _LIMIT_TERM,
            )
            row = self.limits.add(
                CustomerCreditLimit(
                    id=uuid.UUID(limit.limit_id),
                    uscc=uscc,
                    state=limit.state.value,
                    basis=limit.basis.value,
                    total_fen=limit.total_fen,
                    expires_at=limit.expires_at,
                    sub_limits=[msgspec.to_builtins(sub) for sub in limit.sub_limits],
                )
            )
            await self.limits.flush()
            limit = self._apply(row, *limit.activate(at=now), None)
        else:
            limit = _to_domain(row)
            if product_code not in {sub.product_code for sub in limit.sub_limits}:
                limit = self._apply(
                    row,
                    *limit.adjust(
                        sub_limits={product_code: min(assessed_fen, limit.total_fen)},
                        reason=f"sub-limit for {product_code}",
                        at=now,
                    ),
                    None,
                )
        try:
            occupied, event = limit.occupy(
                product_code, amount_fen, partner_id=str(partner_tenant_id), reference=reference
            )
        except OverCreditingError as exc:
            raise Conflict(f"Over-crediting refused: {exc}") from exc
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        return self._apply(row, occupied, event, partner_tenant_id)

    async def freeze(self, uscc: str, reason: str) -> CustomerCreditLimit:
        row = await self.get(uscc)
        try:
            self._apply(row, *_to_domain(row).freeze(reason), None)
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        return row

    async def unfreeze(self, uscc: str) -> CustomerCreditLimit:
        row = await self.get(uscc)
        try:
            self._apply(row, *_to_domain(row).unfreeze(), None)
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        return row

    def _apply(
        self,
        row: CustomerCreditLimit,
        limit: CreditLimit,
        event: LimitEvent,
        partner_tenant_id: uuid.UUID | None,
    ) -> CreditLimit:
        row.state = limit.state.value
        row.total_fen = limit.total_fen
        row.sub_limits = [msgspec.to_builtins(sub) for sub in limit.sub_limits]
        self.session.add(
            CreditLimitEventRow(
                limit_id=row.id,
                kind=event.kind.value,
                at=event.at,
                state=event.state.value,
                total_fen=event.total_fen,
                exposure_fen=event.exposure_fen,
                available_fen=event.available_fen,
                product_code=event.product_code,
                amount_fen=event.amount_fen,
                partner_tenant_id=partner_tenant_id,
                reference=event.reference,
                reason=event.reason,
            )
        )
        return limit
