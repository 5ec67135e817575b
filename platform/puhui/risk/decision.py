"""The credit decision: admission rules, fraud checks, score, limit, price and route in one record.

`decide()` freezes everything it reads into a canonical snapshot (SHA-256 hashed), so
`replay()` can re-run the decision from the stored record and prove it reproduces exactly
(JR/T 0269 9.2.2 a-c, 9.3, 9.6; architecture decision 7).
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final, Protocol

import msgspec

from puhui.clock import utcnow
from puhui.risk.fraud import FraudContext, run_fraud_checks
from puhui.risk.limits import (
    LimitAssessment,
    LimitPolicy,
    ProductBounds,
    RepaymentCapacity,
    assess_limit,
)
from puhui.risk.reasons import CustomerReason, explain
from puhui.risk.rules import Action, AdmissionFacts, AdmissionRuleSet, Hit, worst_action

__all__ = [
    "SCHEMA_VERSION",
    "DecisionError",
    "DecisionInputs",
    "DecisionRecord",
    "DecisionSnapshot",
    "FeatureValue",
    "Product",
    "ReplayMismatchError",
    "Route",
    "RoutingPolicy",
    "ScoreOutcome",
    "ScoreSummary",
    "Scorer",
    "SourceStaleness",
    "decide",
    "replay",
    "rerun",
]

SCHEMA_VERSION: Final = 1

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
FeatureValue = float | str | None


class ScoreOutcome(Protocol):
    """What a scorecard returns for one applicant (the scorecard's ScoreResult fits)."""

    @property
    def score(self) -> int: ...
    @property
    def pd(self) -> float: ...
    @property
    def grade(self) -> str: ...
    @property
    def reason_codes(self) -> Sequence[str]: ...


class Scorer(Protocol):
    """An evaluation model (9.2.2 b): identifies itself and scores a feature mapping."""

    @property
    def model_id(self) -> str: ...
    @property
    def model_version(self) -> str: ...
    def score(self, features: Mapping[str, FeatureValue]) -> ScoreOutcome: ...


class DecisionError(ValueError):
    """The decision cannot be made from these inputs or this configuration."""


class ReplayMismatchError(DecisionError):
    """A replay did not reproduce the stored record; the message lists what differs."""


class Route(StrEnum):
    """Where the application goes next (9.2.2 c)."""

    AUTO_APPROVE = "auto_approve"
    MANUAL_REVIEW = "manual_review"
    DECLINE = "decline"


class RoutingPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The triage rules that send an application to a person or turn it down (9.2.2 c)."""

    auto_approval_ceiling_fen: int
    review_grades: tuple[str, ...] = ("C", "D")
    decline_grades: tuple[str, ...] = ("E",)
    max_staleness_seconds: dict[str, int] = msgspec.field(default_factory=dict)
    default_max_staleness_seconds: int = 31 * 86_400


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A loan product as the decision sees it: bounds, annual rate by grade, routing."""

    code: str
    version: str
    bounds: ProductBounds
    pricing: dict[str, Decimal]  # grade → annual interest rate, e.g. Decimal("0.0435")
    routing: RoutingPolicy


class DecisionInputs(msgspec.Struct, frozen=True, kw_only=True):
    """The applicant's data as gathered by the caller; source dates drive staleness checks."""

    application_id: str
    customer_id: str  # the enterprise's unified social credit code
    product_code: str
    facts: AdmissionFacts
    features: dict[str, FeatureValue]
    capacity: RepaymentCapacity
    data_as_of: dict[str, AwareDatetime] = msgspec.field(default_factory=dict)
    requested_amount_fen: int | None = None


class DecisionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a decision read, in canonical form; its hash identifies the input."""

    decided_at: AwareDatetime
    inputs: DecisionInputs
    fraud: FraudContext
    product: Product
    limit_policy: LimitPolicy


class SourceStaleness(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    as_of: datetime
    age_seconds: int
    max_age_seconds: int
    stale: bool


class ScoreSummary(msgspec.Struct, frozen=True, kw_only=True):
    score: int
    pd: float
    grade: str
    reason_codes: tuple[str, ...]


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The reproducible credit decision; `record_hash` covers every other field."""

    schema_version: int
    application_id: str
    customer_id: str
    product_code: str
    product_version: str
    decided_at: datetime
    input_hash: str
    snapshot: DecisionSnapshot
    data_staleness: tuple[SourceStaleness, ...]
    ruleset_id: str
    ruleset_version: str
    ruleset_hash: str
    model_id: str
    model_version: str
    limit_policy_id: str
    limit_policy_version: str
    hits: tuple[Hit, ...]
    admission_outcome: Action
    score: ScoreSummary
    limit: LimitAssessment | None
    limit_fen: int
    annual_rate: Decimal | None
    route: Route
    route_reasons: tuple[str, ...]
    customer_reasons: tuple[CustomerReason, ...]
    record_hash: str = ""

    def to_json(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def from_json(cls, data: bytes) -> DecisionRecord:
        return msgspec.json.decode(data, type=cls)


_ENCODER: Final = msgspec.json.Encoder(order="sorted", decimal_format="string")
_DECIDED_AT_DECODER: Final = msgspec.json.Decoder(AwareDatetime)
_INPUTS_DECODER: Final = msgspec.json.Decoder(DecisionInputs)
_FRAUD_DECODER: Final = msgspec.json.Decoder(FraudContext)
_PRODUCT_DECODER: Final = msgspec.json.Decoder(Product)
_LIMIT_POLICY_DECODER: Final = msgspec.json.Decoder(LimitPolicy)


def decide(
    inputs: DecisionInputs,
    ruleset: AdmissionRuleSet,
    fraud_context: FraudContext,
    scorer: Scorer,
    limit_policy: LimitPolicy,
    product: Product,
    *,
    at: datetime | None = None,
) -> DecisionRecord:
    """Decide one application now (or at `at`) and return its reproducible record."""
    # Round-trip once so the decision runs on exactly what replay will decode (e.g. 5 → 5.0).
    # Field by field, which decodes as the whole snapshot would (a struct decodes each field on
    # its own); product and limit policy, the same for a whole batch, decode once per content.
    try:
        canonical = DecisionSnapshot(
            decided_at=_DECIDED_AT_DECODER.decode(_ENCODER.encode(at or utcnow())),
            inputs=_INPUTS_DECODER.decode(_ENCODER.encode(inputs)),
            fraud=_FRAUD_DECODER.decode(_ENCODER.encode(fraud_context)),
            product=_canonical_product(_ENCODER.encode(product)),
            limit_policy=_canonical_limit_policy(_ENCODER.encode(limit_policy)),
        )
    except (msgspec.ValidationError, TypeError) as exc:
        raise DecisionError(f"decision inputs are not serialisable as given: {exc}") from exc
    return rerun(canonical, ruleset, scorer)


@functools.lru_cache(maxsize=64)
def _canonical_product(encoded: bytes) -> Product:
    """A product as decoded from its JSON; shared by the records of every decision on it."""
    return _PRODUCT_DECODER.decode(encoded)


@functools.lru_cache(maxsize=64)
def _canonical_limit_policy(encoded: bytes) -> LimitPolicy:
    return _LIMIT_POLICY_DECODER.decode(encoded)


def rerun(snapshot: DecisionSnapshot, ruleset: AdmissionRuleSet, scorer: Scorer) -> DecisionRecord:
    """Decide from a snapshot with the given rule set and model (also the what-if entry point)."""
    snapshot_bytes = _ENCODER.encode(snapshot)
    inputs, product = snapshot.inputs, snapshot.product
    if inputs.product_code != product.code:
        raise DecisionError(f"application is for {inputs.product_code}, product is {product.code}")
    if ruleset.effective_from > snapshot.decided_at:
        raise DecisionError(f"rule set {ruleset.id} {ruleset.version} is not yet in force")
    if inputs.requested_amount_fen is not None and inputs.requested_amount_fen <= 0:
        raise DecisionError("requested amount must be positive")

    admission = ruleset.evaluate(inputs.facts)
    hits = (*admission.hits, *run_fraud_checks(snapshot.fraud))  # JR/T 0269 9.6
    outcome = worst_action(hits)

    scored = scorer.score(inputs.features)  # JR/T 0269 9.2.2 b
    score = ScoreSummary(
        score=int(scored.score),
        pd=float(scored.pd),
        grade=scored.grade,
        reason_codes=tuple(scored.reason_codes),
    )
    routing = product.routing
    grade_declined = score.grade in routing.decline_grades
    rate = product.pricing.get(score.grade)
    if rate is None and not grade_declined:
        raise DecisionError(f"product {product.code} has no price for grade {score.grade!r}")
    limit: LimitAssessment | None = None
    if rate is not None:
        limit = assess_limit(  # JR/T 0269 9.3.2 a
            inputs.capacity,
            grade=score.grade,
            annual_rate=rate,
            bounds=product.bounds,
            policy=snapshot.limit_policy,
            requested_fen=inputs.requested_amount_fen,
        )
    staleness = _staleness(inputs.data_as_of, snapshot.decided_at, routing)
    route, route_reasons = _route(outcome, grade_declined, score.grade, limit, staleness, routing)
    record = DecisionRecord(
        schema_version=SCHEMA_VERSION,
        application_id=inputs.application_id,
        customer_id=inputs.customer_id,
        product_code=product.code,
        product_version=product.version,
        decided_at=snapshot.decided_at,
        input_hash=hashlib.sha256(snapshot_bytes).hexdigest(),
        snapshot=snapshot,
        data_staleness=staleness,
        ruleset_id=ruleset.id,
        ruleset_version=ruleset.version,
        ruleset_hash=ruleset.content_hash,
        model_id=scorer.model_id,
        model_version=scorer.model_version,
        limit_policy_id=snapshot.limit_policy.policy_id,
        limit_policy_version=snapshot.limit_policy.version,
        hits=hits,
        admission_outcome=outcome,
        score=score,
        limit=limit,
        limit_fen=0 if route is Route.DECLINE or limit is None else limit.limit_fen,
        annual_rate=None if route is Route.DECLINE else rate,
        route=route,
        route_reasons=route_reasons,
        customer_reasons=explain(
            declined=route is Route.DECLINE,
            route_reasons=route_reasons,
            hits=hits,
            ruleset=ruleset,
        ),
    )
    return msgspec.structs.replace(record, record_hash=_record_hash(record))


def replay(record: DecisionRecord, ruleset: AdmissionRuleSet, scorer: Scorer) -> DecisionRecord:
    """Re-run a stored decision with its own rule set and model; raise unless it is identical."""
    if (ruleset.id, ruleset.version, ruleset.content_hash) != (
        record.ruleset_id,
        record.ruleset_version,
        record.ruleset_hash,
    ):
        raise ReplayMismatchError(
            f"record used rule set {record.ruleset_id} {record.ruleset_version} "
            f"({record.ruleset_hash[:12]}), got {ruleset.id} {ruleset.version} "
            f"({ruleset.content_hash[:12]})"
        )
    if (scorer.model_id, scorer.model_version) != (record.model_id, record.model_version):
        raise ReplayMismatchError(
            f"record used model {record.model_id} {record.model_version}, "
            f"got {scorer.model_id} {scorer.model_version}"
        )
    if _record_hash(record) != record.record_hash:
        raise ReplayMismatchError("stored record does not match its own record_hash")
    if hashlib.sha256(_ENCODER.encode(record.snapshot)).hexdigest() != record.input_hash:
        raise ReplayMismatchError("stored snapshot does not match the record's input_hash")
    again = rerun(record.snapshot, ruleset, scorer)
    if again.record_hash != record.record_hash:
        differing = [
            name
            for name in record.__struct_fields__
            if name != "record_hash" and getattr(record, name) != getattr(again, name)
        ]
        raise ReplayMismatchError(f"replay differs in: {', '.join(differing) or 'encoding'}")
    return again


_HASHED_FIELDS: Final = tuple(
    name for name in DecisionRecord.__struct_fields__ if name not in {"snapshot", "record_hash"}
)
_HASHED_VALUES: Final = operator.attrgetter(*_HASHED_FIELDS)


def _record_hash(record: DecisionRecord) -> str:
    """SHA-256 over every field but the snapshot, which `input_hash` (a hashed field) binds."""
    body = dict(zip(_HASHED_FIELDS, _HASHED_VALUES(record), strict=True))
    return hashlib.sha256(_ENCODER.encode(body)).hexdigest()


def _staleness(
    data_as_of: Mapping[str, datetime], decided_at: datetime, routing: RoutingPolicy
) -> tuple[SourceStaleness, ...]:
    rows: list[SourceStaleness] = []
    for source in sorted(data_as_of):
        as_of = data_as_of[source]
        age = int((decided_at - as_of).total_seconds())
        limit = routing.max_staleness_seconds.get(source, routing.default_max_staleness_seconds)
        rows.append(
            SourceStaleness(
                source=source,
                as_of=as_of,
                age_seconds=age,
                max_age_seconds=limit,
                stale=age > limit,
            )
        )
    return tuple(rows)


def _route(
    outcome: Action,
    grade_declined: bool,
    grade: str,
    limit: LimitAssessment | None,
    staleness: Sequence[SourceStaleness],
    routing: RoutingPolicy,
) -> tuple[Route, tuple[str, ...]]:
    """Decline beats review beats approval; every reason that applied is kept (9.2.2 c)."""
    declines: list[str] = []
    if outcome is Action.DECLINE:
        declines.append("ROUTE_DECLINE_HIT")
    if grade_declined:
        declines.append("ROUTE_GRADE_DECLINE")
    if limit is not None and limit.limit_fen == 0:
        declines.append("ROUTE_LIMIT_BELOW_MIN")
    if declines:
        return Route.DECLINE, tuple(declines)
    reviews: list[str] = []
    if outcome is Action.REFER:
        reviews.append("ROUTE_REFER_HIT")
    if grade in routing.review_grades:
        reviews.append("ROUTE_GRADE_REVIEW_BAND")
    reviews.extend(f"ROUTE_STALE_DATA:{row.source}" for row in staleness if row.stale)
    if limit is not None and limit.limit_fen > routing.auto_approval_ceiling_fen:
        reviews.append("ROUTE_ABOVE_AUTO_CEILING")
    if reviews:
        return Route.MANUAL_REVIEW, tuple(reviews)
    return Route.AUTO_APPROVE, ()
