"""The double-entry ledger in integer fen: balanced entries, reversals instead of edits.

Every entry is checked twice: here (debits equal credits, each posting one-sided and positive)
and by the database (CHECK on the entry totals and on each posting). An event key makes a
retried posting return the entry already written instead of posting twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.servicing.models import AccountType, JournalEntry, Posting

__all__ = [
    "LedgerImbalance",
    "Leg",
    "TrialBalance",
    "TrialBalanceLine",
    "account_balances",
    "balanced",
    "credit",
    "debit",
    "post",
    "reverse",
    "trial_balance",
]


class LedgerImbalance(ValueError):
    """An entry whose debits and credits differ, or with a non-positive leg: never posted."""


class Leg(NamedTuple):
    """One side of an entry: ``amount`` fen debited (``debit=True``) or credited to ``account``."""

    account: AccountType
    amount: int
    debit: bool


def debit(account: AccountType, amount: int) -> Leg:
    return Leg(account, amount, True)


def credit(account: AccountType, amount: int) -> Leg:
    return Leg(account, amount, False)


def balanced(kind: str, legs: Sequence[Leg]) -> tuple[list[Leg], int]:
    """The non-zero legs and their total, or ``LedgerImbalance`` if debits differ from credits."""
    live = [leg for leg in legs if leg.amount != 0]
    if any(isinstance(leg.amount, bool) or leg.amount < 0 for leg in live):
        raise LedgerImbalance(f"{kind}: a leg has a negative amount")
    debits = sum(leg.amount for leg in live if leg.debit)
    credit_total = sum(leg.amount for leg in live if not leg.debit)
    if debits != credit_total or debits == 0:
        raise LedgerImbalance(f"{kind}: debits {debits} != credits {credit_total}")
    return live, debits


async def post(
    session: AsyncSession,
    *,
    kind: str,
    event_key: str,
    value_date: date,
    legs: Sequence[Leg],
    memo: str,
    loan_id: uuid.UUID | None = None,
    reverses_id: uuid.UUID | None = None,
) -> JournalEntry:
    """Write one balanced entry; zero legs are dropped, the same ``event_key`` posts once."""
    live, total = balanced(kind, legs)
    existing = (
        await session.execute(select(JournalEntry).where(JournalEntry.event_key == event_key))
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    entry = JournalEntry(
        id=uuid.uuid4(),
        loan_id=loan_id,
        kind=kind,
        event_key=event_key,
        value_date=value_date,
        memo=memo[:300],
        total_debit=total,
        total_credit=total,
        reverses_id=reverses_id,
    )
    session.add(entry)
    await session.flush()  # postings refer to the entry
    for leg in live:
        session.add(
            Posting(
                entry_id=entry.id,
                loan_id=loan_id,
                account=leg.account,
                debit=leg.amount if leg.debit else 0,
                credit=0 if leg.debit else leg.amount,
            )
        )
    await session.flush()
    return entry


async def reverse(
    session: AsyncSession, entry: JournalEntry, *, value_date: date, memo: str
) -> JournalEntry:
    """Post the mirror image of ``entry`` (each debit becomes a credit); at most once per entry."""
    rows = (
        (await session.execute(select(Posting).where(Posting.entry_id == entry.id))).scalars().all()
    )
    legs = [Leg(p.account, p.debit or p.credit, p.credit > 0) for p in rows]
    return await post(
        session,
        kind=f"reversal:{entry.kind}"[:40],
        event_key=f"reversal:{entry.id}",
        value_date=value_date,
        legs=legs,
        memo=memo,
        loan_id=entry.loan_id,
        reverses_id=entry.id,
    )


async def account_balances(session: AsyncSession, loan_id: uuid.UUID) -> dict[AccountType, int]:
    """Debit-minus-credit balance of each account for one loan."""
    rows = await session.execute(
        select(Posting.account, func.sum(Posting.debit) - func.sum(Posting.credit))
        .where(Posting.loan_id == loan_id)
        .group_by(Posting.account)
    )
    return {AccountType(account): int(balance or 0) for account, balance in rows.all()}


class TrialBalanceLine(NamedTuple):
    account: AccountType
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """Totals per account over every posting in scope; balanced when debits equal credits."""

    lines: tuple[TrialBalanceLine, ...]
    entries: int
    unbalanced_entries: int

    @property
    def total_debit(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def total_credit(self) -> int:
        return sum(line.credit for line in self.lines)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit and self.unbalanced_entries == 0


async def trial_balance(session: AsyncSession) -> TrialBalance:
    """The trial balance of every posting the session may see, re-summed from the postings."""
    rows = await session.execute(
        select(Posting.account, func.sum(Posting.debit), func.sum(Posting.credit)).group_by(
            Posting.account
        )
    )
    lines = tuple(
        sorted(
            (TrialBalanceLine(AccountType(a), int(d or 0), int(c or 0)) for a, d, c in rows.all()),
            key=lambda line: line.account.value,
        )
    )
    # Re-add each entry's postings: an entry whose postings disagree with its totals is broken.
    per_entry = (
        select(
            Posting.entry_id,
            func.sum(Posting.debit).label("d"),
            func.sum(Posting.credit).label("c"),
        )
        .group_by(Posting.entry_id)
        .subquery()
    )
    unbalanced = await session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .outerjoin(per_entry, per_entry.c.entry_id == JournalEntry.id)
        .where(
            (func.coalesce(per_entry.c.d, 0) != JournalEntry.total_debit)
            | (func.coalesce(per_entry.c.c, 0) != JournalEntry.total_credit)
        )
    )
    entries = await session.scalar(select(func.count()).select_from(JournalEntry))
    return TrialBalance(
        lines=lines, entries=int(entries or 0), unbalanced_entries=int(unbalanced or 0)
    )
