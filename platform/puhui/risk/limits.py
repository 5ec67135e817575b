"""Credit limits (JR/T 0269 9.3): the repayment-capacity limit model and the customer umbrella.

Money is integer fen throughout; ratios are Decimal; nothing here touches float. The
`CreditLimit` value object never mutates: every operation returns the new limit and the event
the caller persists.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, getcontext, localcontext
from enum import StrEnum
from typing import Final

import msgspec

from puhui.clock import utcnow

__all__ = [
    "ROUNDING_UNIT_FEN",
    "CreditLimit",
    "ExposureBasis",
    "InvalidAmountError",
    "LimitAssessment",
    "LimitError",
    "LimitEvent",
    "LimitEventKind",
    "LimitPolicy",
    "LimitState",
    "LimitStateError",
    "Mitigation",
    "MitigationKind",
    "OverCreditingError",
    "ProductBounds",
    "ReleaseCause",
    "ReleaseExceedsExposureError",
    "RepaymentCapacity",
    "SubLimit",
    "UnknownGradeError",
    "UnknownProductError",
    "assess_limit",
]

ROUNDING_UNIT_FEN: Final = 100_000  # limits are granted in whole thousands of yuan


class LimitError(Exception):
    """Base of every limit error; the message is safe to show an operator."""


class UnknownGradeError(LimitError):
    """The risk grade has no multiplier in the limit policy."""


class InvalidAmountError(LimitError):
    """An amount is not a positive number of fen."""


class LimitStateError(LimitError):
    """The operation is not allowed in the limit's current state."""


class OverCreditingError(LimitError):
    """The operation would put exposure above the umbrella or a product sub-limit (9.3.1)."""


class ReleaseExceedsExposureError(LimitError):
    """More would be released than is occupied."""


class UnknownProductError(LimitError):
    """The umbrella has no sub-limit for this product."""


# --- the limit model (9.3.2 a) --------------------------------------------------------------


class MitigationKind(StrEnum):
    """Risk mitigations that add to the capacity-based limit."""

    GOVERNMENT_PROCUREMENT_ASSIGNMENT = "government_procurement_assignment"
    GUARANTEE_FUND = "guarantee_fund"


class Mitigation(msgspec.Struct, frozen=True, kw_only=True):
    """A mitigation with its face value in fen (contract amount assigned, guarantee amount)."""

    kind: MitigationKind
    value_fen: int


class RepaymentCapacity(msgspec.Struct, frozen=True, kw_only=True):
    """The cash-flow evidence behind a limit, all in fen over the trailing 12 months."""

    tax_revenue_12m_fen: int
    payroll_12m_fen: int = 0
    procurement_receivables_fen: int = 0  # confirmed, due within the next 12 months
    existing_debt_service_monthly_fen: int = 0
    mitigations: tuple[Mitigation, ...] = ()


def _d(text: str) -> Decimal:
    return Decimal(text)


class LimitPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Haircuts, caps and multipliers of the limit model; versioned with the product."""

    policy_id: str = "limit-policy"
    version: str = "1"
    revenue_haircut: Decimal = msgspec.field(default_factory=lambda: _d("0.30"))
    receivable_haircut: Decimal = msgspec.field(default_factory=lambda: _d("0.20"))
    gross_margin: Decimal = msgspec.field(default_factory=lambda: _d("0.25"))
    debt_service_ratio_cap: Decimal = msgspec.field(default_factory=lambda: _d("0.50"))
    revenue_cap_ratio: Decimal = msgspec.field(default_factory=lambda: _d("0.25"))
    grade_multipliers: dict[str, Decimal] = msgspec.field(
        default_factory=lambda: {
            "A": _d("1.20"),
            "B": _d("1.00"),
            "C": _d("0.80"),
            "D": _d("0.50"),
            "E": _d("0"),
        }
    )
    mitigation_advance_rates: dict[MitigationKind, Decimal] = msgspec.field(
        default_factory=lambda: {
            MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT: _d("0.60"),
            MitigationKind.GUARANTEE_FUND: _d("0.80"),
        }
    )


class ProductBounds(msgspec.Struct, frozen=True, kw_only=True):
    """The product's amount range and term, which bound and shape the limit."""

    min_amount_fen: int
    max_amount_fen: int
    tenor_months: int


class LimitAssessment(msgspec.Struct, frozen=True, kw_only=True):
    """Every step of the limit calculation, so a reviewer can follow the number."""

    monthly_inflow_fen: int
    monthly_surplus_fen: int
    monthly_payment_capacity_fen: int
    annuity_factor: Decimal
    capacity_principal_fen: int
    grade_multiplier: Decimal
    graded_fen: int
    mitigation_fen: int
    revenue_cap_fen: int
    limit_fen: int
    reason_codes: tuple[str, ...] = ()


def _fen(amount: Decimal) -> int:
    """Whole fen, rounded toward zero: a limit is never rounded up."""
    return int(amount.to_integral_value(rounding=ROUND_DOWN))


def _annuity_factor(annual_rate: Decimal, months: int) -> Decimal:
    """Principal repaid by one unit of level monthly payment over `months` at `annual_rate`."""
    if months <= 0:
        raise InvalidAmountError("tenor must be at least one month")
    if annual_rate == 0:
        return Decimal(months)
    return _annuity_factor_at(annual_rate, months, getcontext().rounding)


@functools.lru_cache(maxsize=256)
def _annuity_factor_at(annual_rate: Decimal, months: int, rounding: str) -> Decimal:
    """Remembered per rate, term and the caller's rounding: a product has few rates and terms."""
    with localcontext() as ctx:
        ctx.prec = 28
        ctx.rounding = rounding
        monthly = annual_rate / 12
        factor = (1 - (1 + monthly) ** -months) / monthly
        return factor.quantize(Decimal("0.000001"), rounding=ROUND_DOWN)


def assess_limit(
    capacity: RepaymentCapacity,
    *,
    grade: str,
    annual_rate: Decimal,
    bounds: ProductBounds,
    policy: LimitPolicy,
    requested_fen: int | None = None,
) -> LimitAssessment:
    """Limit from repayment cash flow, grade and mitigations, bounded by the product (9.3.2 a)."""
    if grade not in policy.grade_multipliers:
        raise UnknownGradeError(f"limit policy {policy.policy_id} has no multiplier for {grade!r}")
    multiplier = policy.grade_multipliers[grade]
    # Monthly repayment cash flow: haircut revenue and receivables, keep the margin, pay staff.
    inflow = (
        Decimal(capacity.tax_revenue_12m_fen) * (1 - policy.revenue_haircut)
        + Decimal(capacity.procurement_receivables_fen) * (1 - policy.receivable_haircut)
    ) / 12
    surplus = inflow * policy.gross_margin - Decimal(capacity.payroll_12m_fen) / 12
    payment = max(
        Decimal(0),
        surplus * policy.debt_service_ratio_cap - capacity.existing_debt_service_monthly_fen,
    )
    factor = _annuity_factor(annual_rate, bounds.tenor_months)
    principal = _fen(payment * factor)
    graded = _fen(principal * multiplier)
    mitigation = 0
    if multiplier > 0:
        for item in capacity.mitigations:
            rate = policy.mitigation_advance_rates.get(item.kind, Decimal(0))
            mitigation += _fen(Decimal(max(item.value_fen, 0)) * rate)
    revenue_cap = _fen(Decimal(capacity.tax_revenue_12m_fen) * policy.revenue_cap_ratio)

    reasons: list[str] = []
    amount = graded + mitigation
    # Moderate crediting (9.3.1): never lend more than a share of declared revenue.
    for cap, code in (
        (revenue_cap, "LIMIT_CAPPED_BY_REVENUE"),
        (bounds.max_amount_fen, "LIMIT_CAPPED_BY_PRODUCT_MAX"),
        (requested_fen, "LIMIT_CAPPED_BY_REQUEST"),
    ):
        if cap is not None and amount > cap:
            amount = cap
            reasons.append(code)
    amount -= amount % ROUNDING_UNIT_FEN
    if amount < bounds.min_amount_fen:
        amount = 0
        reasons.append("LIMIT_BELOW_PRODUCT_MIN")
    return LimitAssessment(
        monthly_inflow_fen=_fen(inflow),
        monthly_surplus_fen=_fen(surplus),
        monthly_payment_capacity_fen=_fen(payment),
        annuity_factor=factor,
        capacity_principal_fen=principal,
        grade_multiplier=multiplier,
        graded_fen=graded,
        mitigation_fen=mitigation,
        revenue_cap_fen=revenue_cap,
        limit_fen=amount,
        reason_codes=tuple(reasons),
    )


# --- the customer umbrella limit (9.3.1 unified crediting) ----------------------------------


class LimitState(StrEnum):
    """pending → active ⇄ frozen → expired | closed."""

    PENDING = "pending"
    ACTIVE = "active"
    FROZEN = "frozen"
    EXPIRED = "expired"
    CLOSED = "closed"


class ExposureBasis(StrEnum):
    """Whether a repayment restores availability (outstanding) or not (approved, non-revolving)."""

    APPROVED = "approved"
    OUTSTANDING = "outstanding"


class ReleaseCause(StrEnum):
    """Why occupied limit comes back: a repayment, or the loan's settlement or cancellation."""

    REPAYMENT = "repayment"
    SETTLEMENT = "settlement"


class LimitEventKind(StrEnum):
    ACTIVATED = "activated"
    OCCUPIED = "occupied"
    RELEASED = "released"
    ADJUSTED = "adjusted"
    FROZEN = "frozen"
    UNFROZEN = "unfrozen"
    EXPIRED = "expired"
    CLOSED = "closed"


class SubLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A product's share of the umbrella: its own cap and what loans under it occupy."""

    product_code: str
    limit_fen: int
    approved_fen: int = 0
    outstanding_fen: int = 0

    def exposure(self, basis: ExposureBasis) -> int:
        return self.approved_fen if basis is ExposureBasis.APPROVED else self.outstanding_fen


class LimitEvent(msgspec.Struct, frozen=True, kw_only=True):
    """What changed on an umbrella limit, with the position after the change; the lead stores it."""

    limit_id: str
    kind: LimitEventKind
    at: datetime
    state: LimitState
    total_fen: int
    exposure_fen: int
    available_fen: int
    product_code: str | None = None
    amount_fen: int = 0
    partner_id: str | None = None
    reference: str | None = None
    reason: str = ""


class CreditLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's unified credit limit with product sub-limits; operations return new values."""

    limit_id: str
    customer_id: str
    total_fen: int
    expires_at: datetime
    basis: ExposureBasis = ExposureBasis.OUTSTANDING
    state: LimitState = LimitState.PENDING
    sub_limits: tuple[SubLimit, ...] = ()

    @classmethod
    def grant(
        cls,
        *,
        limit_id: str,
        customer_id: str,
        total_fen: int,
        sub_limits: Mapping[str, int],
        expires_at: datetime,
        basis: ExposureBasis = ExposureBasis.OUTSTANDING,
    ) -> CreditLimit:
        """A new pending umbrella; each product sub-limit is at most the umbrella total."""
        _positive(total_fen, "total limit")
        for code, amount in sub_limits.items():
            _positive(amount, f"sub-limit {code}")
            if amount > total_fen:
                raise OverCreditingError(f"sub-limit {code} exceeds the umbrella total")
        return cls(
            limit_id=limit_id,
            customer_id=customer_id,
            total_fen=total_fen,
            expires_at=expires_at,
            basis=basis,
            sub_limits=tuple(
                SubLimit(product_code=code, limit_fen=amount)
                for code, amount in sorted(sub_limits.items())
            ),
        )

    # --- position ---

    @property
    def exposure_fen(self) -> int:
        return sum(sub.exposure(self.basis) for sub in self.sub_limits)

    @property
    def available_fen(self) -> int:
        return max(0, self.total_fen - self.exposure_fen)

    def sub_limit(self, product_code: str) -> SubLimit:
        for sub in self.sub_limits:
            if sub.product_code == product_code:
                return sub
        raise UnknownProductError(f"limit {self.limit_id} has no sub-limit for {product_code}")

    def available_for(self, product_code: str) -> int:
        """What a new loan under this product may still occupy: its sub-limit and the umbrella."""
        sub = self.sub_limit(product_code)
        return max(0, min(sub.limit_fen - sub.exposure(self.basis), self.available_fen))

    # --- lifecycle ---

    def activate(self, *, at: datetime | None = None) -> tuple[CreditLimit, LimitEvent]:
        self._require_state({LimitState.PENDING}, "activate")
        return self._change(LimitEventKind.ACTIVATED, at, state=LimitState.ACTIVE)

    def freeze(self, reason: str, *, at: datetime | None = None) -> tuple[CreditLimit, LimitEvent]:
        """Stop new occupation (e.g. on an early-warning signal); repayments still release."""
        self._require_state({LimitState.ACTIVE}, "freeze")
        return self._change(LimitEventKind.FROZEN, at, state=LimitState.FROZEN, reason=reason)

    def unfreeze(self, *, at: datetime | None = None) -> tuple[CreditLimit, LimitEvent]:
        self._require_state({LimitState.FROZEN}, "unfreeze")
        when = at or utcnow()
        if when >= self.expires_at:
            raise LimitStateError(f"limit {self.limit_id} has passed its expiry; expire it instead")
        return self._change(LimitEventKind.UNFROZEN, when, state=LimitState.ACTIVE)

    def expire(self, *, at: datetime | None = None) -> tuple[CreditLimit, LimitEvent]:
        self._require_state({LimitState.ACTIVE, LimitState.FROZEN}, "expire")
        when = at or utcnow()
        if when < self.expires_at:
            raise LimitStateError(f"limit {self.limit_id} does not expire until {self.expires_at}")
        return self._change(LimitEventKind.EXPIRED, when, state=LimitState.EXPIRED)

    def close(self, reason: str, *, at: datetime | None = None) -> tuple[CreditLimit, LimitEvent]:
        """Close for good; only once nothing is outstanding."""
        if self.state is LimitState.CLOSED:
            raise LimitStateError(f"limit {self.limit_id} is already closed")
        if any(sub.outstanding_fen for sub in self.sub_limits):
            raise LimitStateError(f"limit {self.limit_id} still has loans outstanding")
        return self._change(LimitEventKind.CLOSED, at, state=LimitState.CLOSED, reason=reason)

    # --- occupation ---

    def occupy(
        self,
        product_code: str,
        amount_fen: int,
        *,
        partner_id: str | None = None,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> tuple[CreditLimit, LimitEvent]:
        """Book a loan against the sub-limit and the umbrella; refuses over-crediting (9.3.1)."""
        _positive(amount_fen, "occupation")
        self._require_state({LimitState.ACTIVE}, "occupy")
        when = at or utcnow()
        if when >= self.expires_at:
            raise LimitStateError(f"limit {self.limit_id} expired at {self.expires_at}")
        available = self.available_for(product_code)
        if amount_fen > available:
            raise OverCreditingError(
                f"{amount_fen} fen exceeds the {available} fen available to {product_code} "
                f"on limit {self.limit_id}"
            )
        sub = self.sub_limit(product_code)
        updated = msgspec.structs.replace(
            sub,
            approved_fen=sub.approved_fen + amount_fen,
            outstanding_fen=sub.outstanding_fen + amount_fen,
        )
        return self._change(
            LimitEventKind.OCCUPIED,
            when,
            sub_limits=self._with(updated),
            product_code=product_code,
            amount_fen=amount_fen,
            partner_id=partner_id,
            reference=reference,
        )

    def release(
        self,
        product_code: str,
        amount_fen: int,
        *,
        cause: ReleaseCause,
        partner_id: str | None = None,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> tuple[CreditLimit, LimitEvent]:
        """Give back occupied limit: a repayment lowers outstanding; a settlement, approved."""
        _positive(amount_fen, "release")
        self._require_state({LimitState.ACTIVE, LimitState.FROZEN, LimitState.EXPIRED}, "release")
        sub = self.sub_limit(product_code)
        if cause is ReleaseCause.REPAYMENT:
            if amount_fen > sub.outstanding_fen:
                raise ReleaseExceedsExposureError(
                    f"repayment {amount_fen} fen exceeds {sub.outstanding_fen} fen outstanding"
                )
            updated = msgspec.structs.replace(sub, outstanding_fen=sub.outstanding_fen - amount_fen)
        else:
            if amount_fen > sub.approved_fen:
                raise ReleaseExceedsExposureError(
                    f"settlement {amount_fen} fen exceeds {sub.approved_fen} fen approved"
                )
            approved = sub.approved_fen - amount_fen
            updated = msgspec.structs.replace(
                sub, approved_fen=approved, outstanding_fen=min(sub.outstanding_fen, approved)
            )
        return self._change(
            LimitEventKind.RELEASED,
            at,
            sub_limits=self._with(updated),
            product_code=product_code,
            amount_fen=amount_fen,
            partner_id=partner_id,
            reference=reference,
            reason=cause.value,
        )

    def adjust(
        self,
        *,
        total_fen: int | None = None,
        sub_limits: Mapping[str, int] | None = None,
        reason: str,
        at: datetime | None = None,
    ) -> tuple[CreditLimit, LimitEvent]:
        """Re-check result (9.3.1): new totals may not fall below what is already occupied."""
        self._require_state({LimitState.PENDING, LimitState.ACTIVE, LimitState.FROZEN}, "adjust")
        total = self.total_fen if total_fen is None else total_fen
        _positive(total, "total limit")
        if total < self.exposure_fen:
            raise OverCreditingError(
                f"new total {total} fen is below the {self.exposure_fen} fen already occupied"
            )
        # Sub-limits not named keep their cap, trimmed to a lowered umbrella; named ones must fit.
        caps = {sub.product_code: min(sub.limit_fen, total) for sub in self.sub_limits}
        caps.update(sub_limits or {})
        existing = {sub.product_code: sub for sub in self.sub_limits}
        new_subs: list[SubLimit] = []
        for code, cap in sorted(caps.items()):
            # A sub-limit of 0 closes the product to new loans while its exposure runs off.
            if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
                raise InvalidAmountError(f"sub-limit {code} must be zero or more fen, got {cap!r}")
            if cap > total:
                raise OverCreditingError(f"sub-limit {code} exceeds the umbrella total")
            old = existing.get(code, SubLimit(product_code=code, limit_fen=cap))
            if cap < old.exposure(self.basis):
                raise OverCreditingError(f"sub-limit {code} is below what it already occupies")
            new_subs.append(msgspec.structs.replace(old, limit_fen=cap))
        return self._change(
            LimitEventKind.ADJUSTED,
            at,
            total_fen=total,
            sub_limits=tuple(new_subs),
            amount_fen=total - self.total_fen,
            reason=reason,
        )

    # --- internals ---

    def _require_state(self, allowed: set[LimitState], operation: str) -> None:
        if self.state not in allowed:
            raise LimitStateError(f"cannot {operation} limit {self.limit_id} while {self.state}")

    def _with(self, updated: SubLimit) -> tuple[SubLimit, ...]:
        return tuple(
            updated if sub.product_code == updated.product_code else sub for sub in self.sub_limits
        )

    def _change(
        self,
        kind: LimitEventKind,
        at: datetime | None,
        *,
        state: LimitState | None = None,
        total_fen: int | None = None,
        sub_limits: tuple[SubLimit, ...] | None = None,
        product_code: str | None = None,
        amount_fen: int = 0,
        partner_id: str | None = None,
        reference: str | None = None,
        reason: str = "",
    ) -> tuple[CreditLimit, LimitEvent]:
        new = msgspec.structs.replace(
            self,
            state=self.state if state is None else state,
            total_fen=self.total_fen if total_fen is None else total_fen,
            sub_limits=self.sub_limits if sub_limits is None else sub_limits,
        )
        event = LimitEvent(
            limit_id=self.limit_id,
            kind=kind,
            at=at or utcnow(),
            state=new.state,
            total_fen=new.total_fen,
            exposure_fen=new.exposure_fen,
            available_fen=new.available_fen,
            product_code=product_code,
            amount_fen=amount_fen,
            partner_id=partner_id,
            reference=reference,
            reason=reason,
        )
        return new, event


def _positive(amount: int, what: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidAmountError(f"{what} must be a positive whole number of fen, got {amount!r}")
