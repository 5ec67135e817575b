"""Credit decisions on stored data: gather fraud context, decide, persist, replay; unified limits.

The bank's risk engine reads across partners on purpose: velocity, device reuse and rings are
only visible across channels (JR/T 0269 9.6), and a customer's limit is one umbrella for every
product and partner (9.3.1). Those reads run under an explicit tenant bypass with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict, FieldError, InvalidRequest, NotFound
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
    normalise_bank_account,
)
from puhui.risk.identity import IdentityEvidence, identity_facts, stored_identity
from puhui.risk.inputs import (
    StoredFeatures,
    admission_facts,
    repayment_capacity,
    scorecard_features,
)
from puhui.risk.limits import (
    CreditLimit,
    ExposureBasis,
    LimitAssessment,
    LimitError,
    LimitEvent,
    LimitEventKind,
    LimitState,
    MitigationKind,
    OverCreditingError,
    ReleaseCause,
    SubLimit,
)
from puhui.risk.models import (
    BlacklistRow,
    CreditDecision,
    CreditLimitEventRow,
    CustomerCreditLimit,
)
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
    "limit_position",
    "to_domain",
    "umbrella_capacity",
]

_FRAUD_LOOKBACK: Final = timedelta(days=30)
# Blacklist rows from these sources are AML/CFT screening lists (9.2.2 a), not fraud lists.
SANCTIONS_SOURCE: Final = "sanctions"
WATCH_SOURCE: Final = "watch"
_SCREENING: Final = frozenset({SANCTIONS_SOURCE, WATCH_SOURCE})
_LIMIT_TERM: Final = timedelta(days=365)
_REFERENCE_MAX: Final = 64  # credit_limit_events.reference
_GRAPH_HOPS: Final = 2  # rings are found among enterprises up to two shared attributes away
_GRAPH_MAX_ROWS: Final = 500


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
        mitigations: Iterable[MitigationKind] = (),
    ) -> CreditDecision:
        at = utcnow()
        ruleset = await RuleSetRegistry(self.session).in_force(at)
        scorer = await ModelRegistry(self.session).active_scorer()
        # JR/T 0269 9.6: names from the stored tax registration and procurement/payroll records.
        identity = identity.merged(await stored_identity(self.session, application.uscc))
        consistency = identity_facts(
            identity,
            enterprise_name=application.enterprise_name,
            legal_rep_name=application.legal_rep_name,
        )
        facts = msgspec.structs.replace(
            admission_facts(
                features,
                applicant_is_legal_rep=_same_person(
                    application.contact_name, application.legal_rep_name
                ),
            ),
            enterprise_name_matches_registration=consistency.enterprise_name_matches_registration,
            legal_rep_matches_registration=consistency.legal_rep_matches_registration,
            source_names_match_registration=consistency.source_names_match_registration,
        )
        # One lookup serves the AML/CFT screening of the enterprise and the fraud blacklist.
        account = application.bank_account
        listed_rows = await BlacklistRepository(self.session).matching(
            [
                application.uscc,
                application.contact_phone or "",
                application.device_id or "",
                application.client_ip or "",
                normalise_bank_account(account) if account else "",
            ],
            at,
        )
        listed = {
            row.source
            for row in listed_rows
            if row.source in _SCREENING and row.value == application.uscc and row.valid_from <= at
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
            capacity=repayment_capacity(features, mitigations),
            data_as_of=dict(features.as_of_by_source),
            requested_amount_fen=application.amount_fen,
        )
        fraud = await self._fraud_context(application, identity, listed_rows, at)
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
        self,
        application: Application,
        identity: IdentityEvidence,
        blacklist: Sequence[BlacklistRow],
        at: datetime,
    ) -> FraudContext:
        subject = FraudSubject(
            application_id=str(application.id),
            at=at,
            uscc=application.uscc,
            phone=application.contact_phone,
            device_id=application.device_id,
            ip=application.client_ip,
            bank_account=application.bank_account,
        )
        with tenant_bypass(self.session, reason="risk.fraud_checks"):  # JR/T 0269 9.6
            linked = await self._linked_applications(application, at)
        recent = [row for row in linked if _shares_velocity_key(row, application)]
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
            # Registration names are admission facts (rule set FRD-006..008); the fraud layer
            # keeps the check the rule set cannot make: the phone's real-name owner.
            identity=IdentityClaims(
                legal_rep_name=identity.legal_rep_name if identity.phone_owner_name else None,
                phone_owner_name=identity.phone_owner_name,
            ),
            neighbourhood=_neighbourhood(linked),
        )

    async def _linked_applications(
        self, application: Application, at: datetime
    ) -> list[Application]:
        """Applications of the last 30 days around the applicant (JR/T 0269 9.6).

        The first hop shares the enterprise, phone, device, customer IP, address or bank
        account (velocity and device checks read it); the shared-attribute graph then follows
        the keys the first hop brought in, one hop further, so rings two links away are seen.
        """
        seen: dict[uuid.UUID, Application] = {application.id: application}
        keys = _LinkKeys.of([application])
        asked = _LinkKeys()
        ip = application.client_ip
        for hop in range(_GRAPH_HOPS):
            links = keys.conditions(asked)
            if hop == 0 and ip:
                links.append(Application.client_ip == ip)
            if not links or len(seen) >= _GRAPH_MAX_ROWS:
                break
            stmt = (
                select(Application)
                .where(Application.created_at >= at - _FRAUD_LOOKBACK, or_(*links))
                .order_by(Application.created_at, Application.id)
                .limit(_GRAPH_MAX_ROWS)
            )
            found = [r for r in (await self.session.execute(stmt)).scalars() if r.id not in seen]
            asked.absorb(keys)
            keys = _LinkKeys.of(found)
            for row in found:
                seen[row.id] = row
        return sorted(seen.values(), key=lambda row: (row.created_at, str(row.id)))


def _shares_velocity_key(row: Application, application: Application) -> bool:
    """Whether an application counts for the velocity and device-reuse checks of another."""
    return (
        row.uscc == application.uscc
        or (
            bool(row.contact_phone_bidx)
            and row.contact_phone_bidx == application.contact_phone_bidx
        )
        or (bool(row.device_id) and row.device_id == application.device_id)
        or (bool(row.client_ip) and row.client_ip == application.client_ip)
    )


class _LinkKeys:
    """The linking attribute values held by a set of applications, as query conditions."""

    def __init__(self) -> None:
        self.usccs: set[str] = set()
        self.phones: set[str] = set()
        self.devices: set[str] = set()
        self.addresses: set[str] = set()
        self.accounts: set[str] = set()

    @classmethod
    def of(cls, rows: Iterable[Application]) -> _LinkKeys:
        keys = cls()
        for row in rows:
            keys.usccs.add(row.uscc)
            if row.contact_phone_bidx:
                keys.phones.add(row.contact_phone_bidx)
            if row.device_id:
                keys.devices.add(row.device_id)
            if row.address_key:
                keys.addresses.add(row.address_key)
            if row.bank_account_bidx:
                keys.accounts.add(row.bank_account_bidx)
        return keys

    def absorb(self, other: _LinkKeys) -> None:
        self.usccs |= other.usccs
        self.phones |= other.phones
        self.devices |= other.devices
        self.addresses |= other.addresses
        self.accounts |= other.accounts

    def conditions(self, asked: _LinkKeys) -> list[ColumnElement[bool]]:
        """Conditions for the values not asked about yet; empty when nothing is new."""
        links: list[ColumnElement[bool]] = []
        for column, values, done in (
            (Application.uscc, self.usccs, asked.usccs),
            (Application.contact_phone_bidx, self.phones, asked.phones),
            (Application.device_id, self.devices, asked.devices),
            (Application.address_key, self.addresses, asked.addresses),
            (Application.bank_account_bidx, self.accounts, asked.accounts),
        ):
            new = sorted(values - done)
            if len(new) == 1:
                links.append(column == new[0])
            elif new:
                links.append(column.in_(new))
        return links


def _neighbourhood(rows: Sequence[Application]) -> tuple[EnterpriseAttributes, ...]:
    """Enterprises linked by phone, device, address or bank account, one node per enterprise.

    Addresses are the normalised keys; bank accounts are their blind indexes, so another
    customer's account number never enters this applicant's decision record.
    """
    phones: dict[str, set[str]] = {}
    devices: dict[str, set[str]] = {}
    addresses: dict[str, set[str]] = {}
    accounts: dict[str, set[str]] = {}
    for row in rows:
        for attrs, value in (
            (phones, row.contact_phone),
            (devices, row.device_id),
            (addresses, row.address_key),
            (accounts, row.bank_account_bidx),
        ):
            if value:
                attrs.setdefault(row.uscc, set()).add(value)
    members = sorted({row.uscc for row in rows})
    return tuple(
        EnterpriseAttributes(
            uscc=uscc,
            phones=tuple(sorted(phones.get(uscc, ()))),
            devices=tuple(sorted(devices.get(uscc, ()))),
            addresses=tuple(sorted(addresses.get(uscc, ()))),
            bank_accounts=tuple(sorted(accounts.get(uscc, ()))),
        )
        for uscc in members
        if uscc in phones or uscc in devices or uscc in addresses or uscc in accounts
    )


def customer_capacity(record: DecisionRecord) -> int:
    """What the customer can carry across products (9.3.1): the limit before the request cap."""
    if record.limit is None:
        return record.limit_fen
    return max(record.limit_fen, umbrella_capacity(record.limit))


def umbrella_capacity(assessment: LimitAssessment) -> int:
    """The assessed amount before the product and request caps: the customer's umbrella."""
    if assessment.limit_fen == 0 and "LIMIT_BELOW_PRODUCT_MIN" in assessment.reason_codes:
        return 0
    uncapped = min(assessment.graded_fen + assessment.mitigation_fen, assessment.revenue_cap_fen)
    return max(assessment.limit_fen, uncapped - uncapped % 100_00)


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _same_person(a: str, b: str) -> bool:
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def to_domain(row: CustomerCreditLimit) -> CreditLimit:
    """The stored limit as the immutable domain value that computes every change."""
    return CreditLimit(
        limit_id=str(row.id),
        customer_id=row.uscc,
        total_fen=row.total_fen,
        expires_at=row.expires_at,
        basis=ExposureBasis(row.basis),
        state=LimitState(row.state),
        sub_limits=tuple(msgspec.convert(sub, SubLimit) for sub in row.sub_limits),
    )


def limit_position(row: CustomerCreditLimit) -> tuple[str, int, int, int]:
    """(state, total, exposure, available) of a stored limit, in fen."""
    limit = to_domain(row)
    return limit.state.value, limit.total_fen, limit.exposure_fen, limit.available_fen


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
                    checked_at=now,  # the decision just ran the limit model on current data
                )
            )
            await self.limits.flush()
            limit = self._apply(row, *limit.activate(at=now), None)
        else:
            limit = to_domain(row)
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

    async def find(
        self, *, limit_id: uuid.UUID | None = None, uscc: str | None = None
    ) -> CustomerCreditLimit:
        """The limit by id or by enterprise, locked for the change that follows; 404 if none."""
        if (limit_id is None) == (uscc is None):
            raise InvalidRequest(errors=[FieldError("limit", "name a limit id or an enterprise")])
        row = await self.limits.by_uscc(uscc) if uscc is not None else None
        key = limit_id if limit_id is not None else (row.id if row is not None else None)
        locked = None if key is None else await self.limits.lock(key)
        if locked is None:
            raise NotFound("This customer has no credit limit.")
        return locked

    async def occupy(
        self,
        row: CustomerCreditLimit,
        product_code: str,
        amount_fen: int,
        *,
        reference: str,
        reason: str,
        partner_tenant_id: uuid.UUID | None = None,
    ) -> bool:
        """Occupy once per reference (a retry is a no-op); False when it was already applied."""
        if await self._already(row, LimitEventKind.OCCUPIED, reference, amount_fen):
            return False
        try:
            limit, event = to_domain(row).occupy(
                product_code, amount_fen, reference=reference, partner_id=_str(partner_tenant_id)
            )
        except OverCreditingError as exc:
            raise Conflict(f"Over-crediting refused: {exc}") from exc
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        self._apply(row, limit, msgspec.structs.replace(event, reason=reason), partner_tenant_id)
        return True

    async def release(
        self,
        row: CustomerCreditLimit,
        product_code: str,
        amount_fen: int,
        *,
        cause: ReleaseCause,
        reference: str,
        reason: str,
        partner_tenant_id: uuid.UUID | None = None,
    ) -> bool:
        """Release once per reference (a retry is a no-op); False when it was already applied."""
        if await self._already(row, LimitEventKind.RELEASED, reference, amount_fen):
            return False
        try:
            limit, event = to_domain(row).release(
                product_code,
                amount_fen,
                cause=cause,
                reference=reference,
                partner_id=_str(partner_tenant_id),
            )
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        detail = f"{cause.value}: {reason}" if reason else cause.value
        self._apply(row, limit, msgspec.structs.replace(event, reason=detail), partner_tenant_id)
        return True

    async def _already(
        self, row: CustomerCreditLimit, kind: LimitEventKind, reference: str, amount_fen: int
    ) -> bool:
        if not reference or len(reference) > _REFERENCE_MAX:
            raise InvalidRequest(
                errors=[FieldError("ref", f"must be 1 to {_REFERENCE_MAX} characters")]
            )
        done = await self.limits.event_by_reference(row.id, kind.value, reference)
        if done is None:
            return False
        if done.amount_fen != amount_fen:
            raise Conflict(
                f"Reference {reference} is already {kind.value} for {done.amount_fen} fen, "
                f"not {amount_fen} fen."
            )
        return True

    async def freeze(self, uscc: str, reason: str) -> CustomerCreditLimit:
        row = await self.get(uscc)
        try:
            self._apply(row, *to_domain(row).freeze(reason), None)
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        return row

    async def unfreeze(self, uscc: str) -> CustomerCreditLimit:
        row = await self.get(uscc)
        try:
            self._apply(row, *to_domain(row).unfreeze(), None)
        except LimitError as exc:
            raise Conflict(str(exc)) from exc
        return row

    def apply(
        self,
        row: CustomerCreditLimit,
        limit: CreditLimit,
        event: LimitEvent,
        partner_tenant_id: uuid.UUID | None = None,
    ) -> CreditLimit:
        """Store a change computed on the domain limit: the new position and its event."""
        return self._apply(row, limit, event, partner_tenant_id)

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
