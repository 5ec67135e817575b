"""Renewal pre-assessment (JR/T 0269 8.5.2 b): N days before maturity, decide again on current data.

For each active loan maturing within the window the credit decision is re-run
(``puhui.risk.decision.decide``) and turned into a renewal, extension or limit-raise offer, or a
referral to an account manager. The run is keyed (``run_key``): offers are unique per loan and
run, and a checkpoint records the last loan done, so an interrupted run resumes where it
stopped and a finished run repeated writes nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import NotFound
from puhui.lending.products import to_decision_product
from puhui.lending.service import ProductCatalogue
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
from puhui.servicing.loans import receivables
from puhui.servicing.models import BatchCheckpoint, Loan, LoanStatus, RenewalOffer, ScheduleLine
from puhui.servicing.repository import LoanRepository

__all__ = [
    "JOB",
    "OfferKind",
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
ProductSource = Callable[[AsyncSession, "Loan"], Awaitable[Product]]
LIMIT_RAISE_RATIO: Final = Decimal("1.2")  # a limit this much above the loan earns a raise offer
EXTENSION_MONTHS: Final = 6


class OfferKind(StrEnum):
    RENEWAL = "renewal"  # 续贷: a new loan of the same size on maturity
    EXTENSION = "extension"  # 展期: more time for the outstanding principal
    LIMIT_RAISE = "limit_raise"  # 提额: a renewal with a larger limit
    REFERRAL = "referral"  # to an account manager: no automatic offer


class RenewalInputs(Protocol):
    """Current decision inputs for a loan's borrower, or None when data is missing."""

    async def inputs_for(
        self, session: AsyncSession, loan: Loan, lines: Sequence[ScheduleLine], at: datetime
    ) -> tuple[DecisionInputs, FraudContext] | None: ...


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """What the decision is re-run with: rules, model, limit policy, and each loan's product."""

    ruleset: AdmissionRuleSet
    scorer: Scorer
    limit_policy: LimitPolicy
    product_for: ProductSource = field(default_factory=lambda: catalogue_product)


async def catalogue_product(session: AsyncSession, loan: Loan) -> Product:
    """The loan's product as currently offered: a renewal is a new loan on today's terms."""
    spec = await ProductCatalogue(session).current(loan.product_code)
    return to_decision_product(spec, loan.term_months)


def offer_terms(
    loan: Loan, record: DecisionRecord, outstanding: int
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


async def _maturing(
    session: AsyncSession, start: date, end: date, after: uuid.UUID | None, limit: int
) -> Sequence[Loan]:
    stmt = (
        select(Loan)
        .where(
            Loan.status == LoanStatus.ACTIVE,
            Loan.maturity_date >= start,
            Loan.maturity_date <= end,
        )
        .order_by(Loan.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Loan.id > after)
    return (await session.execute(stmt)).scalars().all()


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
    async with sessions.unit_of_work() as session:
        checkpoint = await _checkpoint(session, key)
        resumed_from = checkpoint.cursor
        if checkpoint.finished_at is not None:
            return RenewalRun(key, 0, counts, 0, resumed_from)
        cursor = uuid.UUID(checkpoint.cursor) if checkpoint.cursor else None
    end = as_of + timedelta(days=days_before)
    while stop_after is None or batches < stop_after:
        async with sessions.unit_of_work() as session:
            with tenant_bypass(session, "servicing.renewal.batch"):
                loans = await _maturing(session, as_of, end, cursor, batch)
                checkpoint = await _checkpoint(session, key)
                if not loans:
                    checkpoint.finished_at = utcnow()
                    break
                repo = LoanRepository(session)
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
                lines_by_loan = await repo.lines_of([loan.id for loan in loans])
                offers: list[dict[str, object]] = []
                now = utcnow()
                for loan in loans:
                    considered += 1
                    if loan.id in existing:
                        continue
                    lines = lines_by_loan[loan.id]
                    gathered = await inputs.inputs_for(session, loan, lines, at)
                    product_key = (loan.product_code, loan.term_months)
                    if gathered is None or product_key in withdrawn:
                        skipped += 1
                        continue
                    if product_key not in products:
                        try:
                            products[product_key] = await policy.product_for(session, loan)
                        except NotFound:
                            withdrawn.add(product_key)  # no longer offered: nothing to renew into
                            skipped += 1
                            continue
                    record = decide(
                        gathered[0],
                        policy.ruleset,
                        gathered[1],
                        policy.scorer,
                        policy.limit_policy,
                        products[product_key],
                        at=at,
                    )
                    outstanding = sum(r.principal for r in receivables(lines))
                    kind, amount, term, reasons = offer_terms(loan, record, outstanding)
                    counts[kind.value] += 1
                    offers.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": loan.tenant_id,
                            "loan_id": loan.id,
                            "run_key": key,
                            "kind": kind.value,
                            "amount": amount,
                            "annual_rate": (
                                str(record.annual_rate) if record.annual_rate is not None else None
                            ),
                            "term_months": term,
                            "grade": record.score.grade,
                            "decision_hash": record.record_hash,
                            "reasons": list(reasons),
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                if offers:
                    # One multi-row insert per batch: the unit of work's per-object flush costs
                    # more than the decision itself at this volume.
                    await session.execute(insert(RenewalOffer), offers)
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
    """

    def __init__(self, read_features: FeaturesReader) -> None:
        self._read = read_features

    async def inputs_for(
        self, session: AsyncSession, loan: Loan, lines: Sequence[ScheduleLine], at: datetime
    ) -> tuple[DecisionInputs, FraudContext] | None:
        features = await self._read(session, loan.enterprise_uscc)
        if features is None or not features.values:
            return None
        overdue = sum(r.total for r in receivables(lines) if r.due_date < at.date())
        facts = msgspec.structs.replace(
            admission_facts(features, applicant_is_legal_rep=True),
            credit_overdue_current_fen=overdue,
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
