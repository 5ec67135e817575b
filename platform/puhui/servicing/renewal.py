"""Renewal pre-assessment (JR/T 0269 8.5.2 b): N days before maturity, decide again on current data.

For each active loan maturing within the window the credit decision is re-run
(``puhui.risk.decision.decide``) and turned into a renewal, extension or limit-raise offer, or a
referral to an account manager. The run is keyed (``run_key``): offers are unique per loan and
run, and a checkpoint records the last loan done, so an interrupted run resumes where it
stopped and a finished run repeated writes nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Protocol, cast

import msgspec
from sqlalchemy import Select, Table, bindparam, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import NotFound
from puhui.lending.products import to_decision_product
from puhui.lending.service import ProductCatalogue, scenario_features, scenario_features_many
from puhui.risk.decision import (
    DecisionInputs,
    DecisionRecord,
    Product,
    Route,
    Scorer,
    decide,
)
from puhui.risk.fraud import FraudContext, FraudSubject
from puhui.risk.inputs import (
    StoredFeatures,
    admission_facts,
    repayment_capacity,
    scorecard_features,
)
from puhui.risk.limits import LimitPolicy
from puhui.risk.rules import AdmissionRuleSet
from puhui.servicing.models import BatchCheckpoint, Loan, LoanStatus, RenewalOffer, ScheduleLine

__all__ = [
    "JOB",
    "OfferKind",
    "PrefetchingRenewalInputs",
    "RenewalCandidate",
    "RenewalInputs",
    "RenewalPolicy",
    "RenewalRun",
    "ScenarioRenewalInputs",
    "catalogue_product",
    "offer_terms",
    "run_renewals",
]

JOB: Final = "renewal_pre_assessment"
FeaturesReader = Callable[[AsyncSession, str], Awaitable[StoredFeatures | None]]
ManyFeaturesReader = Callable[
    [AsyncSession, Iterable[str]], Awaitable[Mapping[str, StoredFeatures | None]]
]
ProductSource = Callable[[AsyncSession, "RenewalCandidate"], Awaitable[Product]]
LIMIT_RAISE_RATIO: Final = Decimal("1.2")  # a limit this much above the loan earns a raise offer
EXTENSION_MONTHS: Final = 6


class OfferKind(StrEnum):
    RENEWAL = "renewal"  # 续贷: a new loan of the same size on maturity
    EXTENSION = "extension"  # 展期: more time for the outstanding principal
    LIMIT_RAISE = "limit_raise"  # 提额: a renewal with a larger limit
    REFERRAL = "referral"  # to an account manager: no automatic offer


@dataclass(frozen=True, slots=True)
class RenewalCandidate:
    """What the pre-assessment reads of a loan near maturity: one row per loan, its schedule
    already summed by the database (principal still owed, and what is overdue at the run date)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    enterprise_uscc: str
    product_code: str
    term_months: int
    principal: int
    dpd: int
    loan_class: str
    outstanding_principal: int
    overdue_fen: int


class RenewalInputs(Protocol):
    """Current decision inputs for a loan's borrower, or None when data is missing."""

    async def inputs_for(
        self, session: AsyncSession, loan: RenewalCandidate, at: datetime
    ) -> tuple[DecisionInputs, FraudContext] | None: ...


class PrefetchingRenewalInputs(RenewalInputs, Protocol):
    """Inputs that read a whole batch's data at once. ``run_renewals`` calls ``prefetch`` with
    the batch's loans still to assess, in the batch's session, before their ``inputs_for``;
    implementations without it are asked loan by loan."""

    async def prefetch(
        self, session: AsyncSession, loans: Sequence[RenewalCandidate], at: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """What the decision is re-run with: rules, model, limit policy, and each loan's product."""

    ruleset: AdmissionRuleSet
    scorer: Scorer
    limit_policy: LimitPolicy
    product_for: ProductSource = field(default_factory=lambda: catalogue_product)


async def catalogue_product(session: AsyncSession, loan: RenewalCandidate) -> Product:
    """The loan's product as currently offered: a renewal is a new loan on today's terms."""
    spec = await ProductCatalogue(session).current(loan.product_code)
    return to_decision_product(spec, loan.term_months)


def offer_terms(
    loan: RenewalCandidate, record: DecisionRecord, outstanding: int
) -> tuple[OfferKind, int, int, tuple[str, ...]]:
    """Offer kind, amount (fen), term (months) and reasons from the re-run decision."""
    if loan.dpd > 0 or loan.loan_class != "normal":
        return OfferKind.REFERRAL, 0, 0, (f"loan is {loan.loan_class}, {loan.dpd} days past due",)
    if record.route is Route.DECLINE:
        return OfferKind.REFERRAL, 0, 0, record.route_reasons or ("declined on current data",)
    if record.route is Route.MANUAL_REVIEW:
        if outstanding > 0:
            return OfferKind.EXTENSION, outstanding, EXTENSION_MONTHS, record.route_reasons
        return OfferKind.REFERRAL, 0, 0, record.route_reasons
    if Decimal(record.limit_fen) >= LIMIT_RAISE_RATIO * loan.principal:
        return (
            OfferKind.LIMIT_RAISE,
            record.limit_fen,
            loan.term_months,
            ("limit above the current loan",),
        )
    if record.limit_fen <= 0:
        return OfferKind.REFERRAL, 0, 0, ("no limit on current data",)
    return (
        OfferKind.RENEWAL,
        min(record.limit_fen, loan.principal),
        loan.term_months,
        ("approved on current data",),
    )


@dataclass(frozen=True, slots=True)
class RenewalRun:
    run_key: str
    considered: int
    offers: dict[str, int]
    skipped_no_data: int
    resumed_from: str | None


async def _checkpoint(session: AsyncSession, run_key: str) -> BatchCheckpoint:
    stmt = select(BatchCheckpoint).where(
        BatchCheckpoint.job == JOB, BatchCheckpoint.run_key == run_key
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        row = BatchCheckpoint(job=JOB, run_key=run_key, processed=0)
        session.add(row)
        await session.flush()
    return row


class _Unindexed(FunctionElement[Any]):
    """A column SQLite's planner must not pick an index for: ``+column`` there, plain elsewhere.

    Without statistics SQLite prefers the index on ``loans.status`` (an equality) to the
    primary key, then joins and groups every active loan past the cursor on every batch: a run
    costs the square of its size. Walking the primary key from the cursor instead stops at the
    batch's last loan. Other databases plan from statistics and see the column unchanged.
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(_Unindexed)
def _plain(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Unindexed, "sqlite")
def _unary_plus(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


def _maturing_stmt() -> Select[Any]:
    """Loans maturing in the window from a cursor, each with its schedule summed in SQL."""
    line = ScheduleLine
    owed = (
        line.principal + line.interest + line.fees + line.penalty
        - line.paid_principal - line.paid_interest - line.paid_fees - line.paid_penalty
    )  # fmt: skip
    return (
        select(
            Loan.id, Loan.tenant_id, Loan.enterprise_uscc, Loan.product_code, Loan.term_months,
            Loan.principal, Loan.dpd, Loan.loan_class,
            func.coalesce(func.sum(line.principal - line.paid_principal), 0),
            func.coalesce(
                func.sum(case((line.due_date < bindparam("at_day"), owed), else_=0)), 0
            ),
        )
        .outerjoin(line, (line.loan_id == Loan.id) & line.superseded.is_(False))
        .where(
            _Unindexed(Loan.status.expression) == LoanStatus.ACTIVE,
            Loan.maturity_date >= bindparam("start"),
            Loan.maturity_date <= bindparam("end"),
            Loan.id > bindparam("after"),
        )
        .group_by(Loan.id)
        .order_by(Loan.id)
        .limit(bindparam("batch"))
    )  # fmt: skip


_MATURING: Final = _maturing_stmt()
_NO_CURSOR: Final = uuid.UUID(int=0)


async def _maturing(
    session: AsyncSession, start: date, end: date, at_day: date, after: uuid.UUID | None, limit: int
) -> list[RenewalCandidate]:
    rows = await session.execute(
        _MATURING,
        {"start": start, "end": end, "at_day": at_day, "after": after or _NO_CURSOR,
         "batch": limit},
    )  # fmt: skip
    # SUM over BIGINT is NUMERIC on PostgreSQL: back to whole fen.
    return [
        RenewalCandidate(
            loan_id, tenant_id, uscc, product, term, principal, dpd, loan_class,
            int(outstanding), int(overdue),
        )
        for (loan_id, tenant_id, uscc, product, term, principal, dpd, loan_class, outstanding,
             overdue) in rows
    ]  # fmt: skip


async def run_renewals(
    sessions: SessionFactory,
    inputs: RenewalInputs,
    policy: RenewalPolicy,
    *,
    as_of: date,
    days_before: int = 30,
    run_key: str | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
    stop_after: int | None = None,
) -> RenewalRun:
    """Pre-assess loans maturing within ``days_before`` days of ``as_of``; resumable by run key.

    ``stop_after`` ends the run after that many batches (an interrupted run, for drills).
    """
    key = run_key or f"{as_of.isoformat()}+{days_before}"
    at = datetime(as_of.year, as_of.month, as_of.day, tzinfo=utcnow().tzinfo)
    counts: dict[str, int] = {k.value: 0 for k in OfferKind}
    considered = skipped = batches = 0
    products: dict[tuple[str, int], Product] = {}
    withdrawn: set[tuple[str, int]] = set()
    prefetch = cast(
        "Callable[[AsyncSession, Sequence[RenewalCandidate], datetime], Awaitable[None]] | None",
        getattr(inputs, "prefetch", None),
    )
    async with sessions.unit_of_work() as session:
        checkpoint = await _checkpoint(session, key)
        resumed_from = checkpoint.cursor
        if checkpoint.finished_at is not None:
            return RenewalRun(key, 0, counts, 0, resumed_from)
        cursor = uuid.UUID(checkpoint.cursor) if checkpoint.cursor else None
    end = as_of + timedelta(days=days_before)
    offers_table = cast(Table, RenewalOffer.__table__)
    while stop_after is None or batches < stop_after:
        async with sessions.unit_of_work() as session:
            with tenant_bypass(session, "servicing.renewal.batch"):
                loans = await _maturing(session, as_of, end, as_of, cursor, batch)
                checkpoint = await _checkpoint(session, key)
                if not loans:
                    checkpoint.finished_at = utcnow()
                    break
                existing = set(
                    (
                        await session.execute(
                            select(RenewalOffer.loan_id).where(
                                RenewalOffer.run_key == key,
                                RenewalOffer.loan_id.in_([loan.id for loan in loans]),
                            )
                        )
                    ).scalars()
                )
                offers: list[dict[str, object]] = []
                now = utcnow()  # one timestamp and one decision context for the whole batch
                considered += len(loans)
                todo = [loan for loan in loans if loan.id not in existing]
                if prefetch is not None and todo:
                    await prefetch(session, todo, at)  # one read for the batch's borrowers
                for loan in todo:
                    gathered = await inputs.inputs_for(session, loan, at)
                    product_key = (loan.product_code, loan.term_months)
                    if gathered is None or product_key in withdrawn:
                        skipped += 1
                        continue
                    product = products.get(product_key)
                    if product is None:
                        try:
                            product = products[product_key] = await policy.product_for(
                                session, loan
                            )
                        except NotFound:
                            withdrawn.add(product_key)  # no longer offered: nothing to renew into
                            skipped += 1
                            continue
                    record = decide(
                        gathered[0], policy.ruleset, gathered[1], policy.scorer,
                        policy.limit_policy, product, at=at,
                    )  # fmt: skip
                    kind, amount, term, reasons = offer_terms(
                        loan, record, loan.outstanding_principal
                    )
                    counts[kind.value] += 1
                    offers.append(
                        {
                            "id": uuid.uuid4(), "tenant_id": loan.tenant_id, "loan_id": loan.id,
                            "run_key": key, "kind": kind.value, "amount": amount,
                            "annual_rate": (
                                str(record.annual_rate) if record.annual_rate is not None else None
                            ),
                            "term_months": term, "grade": record.score.grade,
                            "decision_hash": record.record_hash, "reasons": list(reasons),
                            "created_at": now, "updated_at": now,
                        }
                    )  # fmt: skip
                if offers:
                    # One Core multi-row insert per batch: the ORM's per-row bookkeeping would
                    # cost more than the decision itself at this volume.
                    await session.execute(insert(offers_table), offers)
                cursor = loans[-1].id
                checkpoint.cursor = str(cursor)
                checkpoint.processed += len(loans)
                await session.flush()  # inside the audited bypass: offers span tenants
        batches += 1
        if progress is not None:
            progress(len(loans))
    return RenewalRun(key, considered, counts, skipped, resumed_from)


class ScenarioRenewalInputs:
    """Decision inputs from the borrower's latest scenario features and its own loan record.

    Features are read with ``read_features`` (``puhui.lending.service.scenario_features``) and
    mapped by ``puhui.risk.inputs``, the one mapping the original decision used; the loan's own
    arrears and class are facts the bank already holds.

    A batch's features are read at once by ``read_many`` (for the store's own reader,
    ``scenario_features_many``: one statement per batch instead of one per loan, the same
    values). A custom ``read_features`` without its batch counterpart is read loan by loan.
    """

    def __init__(
        self,
        read_features: FeaturesReader = scenario_features,
        read_many: ManyFeaturesReader | None = None,
    ) -> None:
        self._read = read_features
        if read_many is None and read_features is scenario_features:
            read_many = scenario_features_many
        self._read_many = read_many
        # The last prefetched batch, valid only in the session (transaction) that read it.
        self._batch_session: AsyncSession | None = None
        self._batch: Mapping[str, StoredFeatures | None] = {}

    async def prefetch(
        self, session: AsyncSession, loans: Sequence[RenewalCandidate], at: datetime
    ) -> None:
        self._batch_session, self._batch = None, {}
        if self._read_many is not None:
            self._batch = await self._read_many(session, [loan.enterprise_uscc for loan in loans])
            self._batch_session = session

    async def inputs_for(
        self, session: AsyncSession, loan: RenewalCandidate, at: datetime
    ) -> tuple[DecisionInputs, FraudContext] | None:
        uscc = loan.enterprise_uscc
        if session is self._batch_session and uscc in self._batch:
            features = self._batch[uscc]
        else:
            features = await self._read(session, uscc)
        if features is None or not features.values:
            return None
        facts = msgspec.structs.replace(
            admission_facts(features, applicant_is_legal_rep=True),
            credit_overdue_current_fen=loan.overdue_fen,
            worst_loan_classification=loan.loan_class,
        )
        inputs = DecisionInputs(
            application_id=f"renewal-{loan.id}",
            customer_id=loan.enterprise_uscc,
            product_code=loan.product_code,
            facts=facts,
            features=scorecard_features(features),
            capacity=repayment_capacity(features),
            data_as_of=dict(features.as_of_by_source),
            requested_amount_fen=loan.principal,
        )
        fraud = FraudContext(
            subject=FraudSubject(
                application_id=inputs.application_id, at=at, uscc=loan.enterprise_uscc
            )
        )
        return inputs, fraud
