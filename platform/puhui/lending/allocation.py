"""Repayment allocation (还款冲销顺序): which owed amounts a payment settles, and in what order.

Overdue instalments are served oldest first, then the current one; within them the buckets are
settled in the policy's order (default penalty -> fees -> interest -> principal). Whatever is
left is returned as overpayment for the caller to treat as prepayment or hold in suspense.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from puhui.lending.schedules import Instalment

__all__ = [
    "DEFAULT_ORDER",
    "DEFAULT_POLICY",
    "Allocation",
    "AllocationLine",
    "AllocationPolicy",
    "Bucket",
    "Receivable",
    "Sweep",
    "allocate",
]


class Bucket(StrEnum):
    """A kind of amount owed on an instalment."""

    PENALTY = "penalty"  # 罚息 and compound interest on overdue amounts
    FEES = "fees"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_ORDER: tuple[Bucket, ...] = (
    Bucket.PENALTY,
    Bucket.FEES,
    Bucket.INTEREST,
    Bucket.PRINCIPAL,
)


class Sweep(StrEnum):
    """How the order walks the overdue instalments."""

    # Settle each overdue instalment in full (in bucket order) before the next one (逐期).
    INSTALMENT_BY_INSTALMENT = "instalment_by_instalment"
    # Settle one bucket across every overdue instalment, oldest first, before the next bucket.
    BUCKET_BY_BUCKET = "bucket_by_bucket"


@dataclass(frozen=True, slots=True)
class AllocationPolicy:
    """The configurable allocation rule: bucket order and how it sweeps overdue instalments."""

    order: tuple[Bucket, ...] = DEFAULT_ORDER
    sweep: Sweep = Sweep.INSTALMENT_BY_INSTALMENT

    def __post_init__(self) -> None:
        if len(self.order) != len(Bucket) or set(self.order) != set(Bucket):
            raise ValueError("the order must name every bucket exactly once")
        if not isinstance(self.sweep, Sweep):
            raise TypeError("sweep must be a Sweep member")


DEFAULT_POLICY = AllocationPolicy()


class Receivable(NamedTuple):
    """What is still owed on one instalment, in fen, by bucket."""

    number: int
    due_date: date
    principal: int
    interest: int
    fees: int
    penalty: int

    @classmethod
    def from_instalment(cls, instalment: Instalment, penalty: int = 0) -> Receivable:
        """An instalment owed in full, plus any penalty accrued on it."""
        return cls(
            instalment.number,
            instalment.due_date,
            instalment.principal,
            instalment.interest,
            instalment.fees,
            penalty,
        )

    def owed(self, bucket: Bucket) -> int:
        return int(getattr(self, bucket.value))

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fees + self.penalty

    @property
    def settled(self) -> bool:
        return self.total == 0


class AllocationLine(NamedTuple):
    """Part of a payment applied to one bucket of one instalment."""

    number: int
    bucket: Bucket
    amount: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """The outcome of applying a payment; ``outstanding`` lists every receivable afterwards."""

    payment: int
    lines: tuple[AllocationLine, ...]
    overpayment: int
    outstanding: tuple[Receivable, ...]
    _by_key: dict[tuple[int, Bucket], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        totals: dict[tuple[int, Bucket], int] = {}
        for line in self.lines:
            key = (line.number, line.bucket)
            totals[key] = totals.get(key, 0) + line.amount
        object.__setattr__(self, "_by_key", totals)

    @property
    def allocated(self) -> int:
        return self.payment - self.overpayment

    def to_bucket(self, bucket: Bucket) -> int:
        """Total applied to ``bucket`` across instalments."""
        return sum(amount for (_, b), amount in self._by_key.items() if b is bucket)

    def to_instalment(self, number: int) -> int:
        """Total applied to instalment ``number``."""
        return sum(amount for (n, _), amount in self._by_key.items() if n == number)


def allocate(
    payment: int,
    receivables: Sequence[Receivable],
    as_of: date,
    policy: AllocationPolicy = DEFAULT_POLICY,
) -> Allocation:
    """Apply ``payment`` fen received on ``as_of`` to ``receivables`` under ``policy``.

    Instalments due before ``as_of`` are overdue and served oldest first; then the current
    instalment (the first falling due on or after ``as_of``). Later instalments are not touched:
    paying them early is a prepayment, the caller's decision.
    """
    if isinstance(payment, bool) or not isinstance(payment, int) or payment < 0:
        raise ValueError("payment must be a non-negative int of fen")
    _check(receivables)
    open_items = sorted((r for r in receivables if not r.settled), key=_oldest_first)
    overdue = [r for r in open_items if r.due_date < as_of]
    current = [r for r in open_items if r.due_date >= as_of][:1]

    if policy.sweep is Sweep.INSTALMENT_BY_INSTALMENT:
        steps = [(r.number, b) for r in overdue for b in policy.order]
    else:
        steps = [(r.number, b) for b in policy.order for r in overdue]
    steps.extend((r.number, b) for r in current for b in policy.order)

    owed = {(r.number, b): r.owed(b) for r in open_items for b in Bucket}
    left = payment
    lines: list[AllocationLine] = []
    for key in steps:
        if left == 0:
            break
        applied = min(left, owed[key])
        if applied:
            owed[key] -= applied
            left -= applied
            lines.append(AllocationLine(key[0], key[1], applied))

    return Allocation(
        payment=payment,
        lines=tuple(lines),
        overpayment=left,
        outstanding=tuple(_after(r, owed) for r in receivables),
    )


def _oldest_first(receivable: Receivable) -> tuple[date, int]:
    return receivable.due_date, receivable.number


def _after(receivable: Receivable, owed: dict[tuple[int, Bucket], int]) -> Receivable:
    if receivable.settled:
        return receivable
    n = receivable.number
    return receivable._replace(
        principal=owed[(n, Bucket.PRINCIPAL)],
        interest=owed[(n, Bucket.INTEREST)],
        fees=owed[(n, Bucket.FEES)],
        penalty=owed[(n, Bucket.PENALTY)],
    )


def _check(receivables: Iterable[Receivable]) -> None:
    numbers: set[int] = set()
    for r in receivables:
        if min(r.principal, r.interest, r.fees, r.penalty) < 0:
            raise ValueError(f"instalment {r.number} owes a negative amount")
        if r.number in numbers:
            raise ValueError(f"instalment {r.number} appears twice")
        numbers.add(r.number)
