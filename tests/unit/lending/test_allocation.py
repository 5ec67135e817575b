"""Repayment allocation: overdue oldest first, then current, buckets in the policy's order."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending.allocation import (
    Allocation,
    AllocationLine,
    AllocationPolicy,
    Bucket,
    Receivable,
    Sweep,
    allocate,
)
from puhui.lending.schedules import LoanTerms, build_schedule
from puhui.money import Rate, parse_yuan

AS_OF = date(2024, 4, 20)
# Two overdue instalments (March partly paid, April unpaid) and the current May one.
MARCH = Receivable(
    2, date(2024, 3, 15), principal=800_000, interest=45_000, fees=1_000, penalty=600
)
APRIL = Receivable(
    3, date(2024, 4, 15), principal=810_000, interest=40_000, fees=1_000, penalty=200
)
MAY = Receivable(4, date(2024, 5, 15), principal=820_000, interest=35_000, fees=1_000, penalty=0)
JUNE = Receivable(5, date(2024, 6, 15), principal=830_000, interest=30_000, fees=1_000, penalty=0)
BOOK = (JUNE, APRIL, MAY, MARCH)  # order given does not matter


def test_default_order_settles_the_oldest_instalment_first() -> None:
    result = allocate(900_000, BOOK, AS_OF)
    # March in full: penalty 6.00, fee 10.00, interest 450.00, principal 8,000.00 = 8,466.00.
    assert result.lines[:4] == (
        AllocationLine(2, Bucket.PENALTY, 600),
        AllocationLine(2, Bucket.FEES, 1_000),
        AllocationLine(2, Bucket.INTEREST, 45_000),
        AllocationLine(2, Bucket.PRINCIPAL, 800_000),
    )
    # The remaining 534.00 goes to April: penalty 2.00, fee 10.00, interest 400.00, then 122.00.
    assert result.to_instalment(3) == 53_400
    assert result.lines[-1] == AllocationLine(3, Bucket.PRINCIPAL, 12_200)
    assert result.overpayment == 0
    outstanding = {r.number: r for r in result.outstanding}
    assert outstanding[2].settled
    assert outstanding[3].principal == 810_000 - 12_200
    assert outstanding[4] == MAY


def test_bucket_by_bucket_takes_interest_of_every_overdue_instalment_before_principal() -> None:
    policy = AllocationPolicy(sweep=Sweep.BUCKET_BY_BUCKET)
    result = allocate(100_000, BOOK, AS_OF, policy)
    assert result.to_bucket(Bucket.PENALTY) == 800
    assert result.to_bucket(Bucket.FEES) == 2_000
    assert result.to_bucket(Bucket.INTEREST) == 85_000
    assert result.to_bucket(Bucket.PRINCIPAL) == 100_000 - 87_800
    assert result.to_instalment(4) == 0  # overdue before current


def test_a_custom_order_puts_principal_first() -> None:
    policy = AllocationPolicy(
        order=(Bucket.PRINCIPAL, Bucket.INTEREST, Bucket.FEES, Bucket.PENALTY)
    )
    result = allocate(800_000, BOOK, AS_OF, policy)
    assert result.lines == (AllocationLine(2, Bucket.PRINCIPAL, 800_000),)


def test_the_current_instalment_comes_after_overdue_ones_and_later_ones_are_left_alone() -> None:
    everything_due = MARCH.total + APRIL.total + MAY.total
    result = allocate(everything_due + 12_345, BOOK, AS_OF)
    assert result.to_instalment(4) == MAY.total
    assert result.to_instalment(5) == 0  # June is a prepayment: the caller's decision
    assert result.overpayment == 12_345
    assert result.allocated == everything_due


def test_an_instalment_due_today_is_current_not_overdue() -> None:
    result = allocate(1_000, [MAY], MAY.due_date)
    assert result.to_instalment(4) == 1_000


def test_receivables_from_a_schedule() -> None:
    schedule = build_schedule(
        LoanTerms(parse_yuan("100,000"), Rate.percent("6"), 12, date(2024, 1, 15))
    )
    book = [Receivable.from_instalment(i) for i in schedule.instalments]
    result = allocate(parse_yuan("8,606.64"), book, date(2024, 2, 15))
    assert result.to_bucket(Bucket.INTEREST) == parse_yuan("500")
    assert result.to_bucket(Bucket.PRINCIPAL) == parse_yuan("8,106.64")


@pytest.mark.parametrize(
    "order",
    [(Bucket.PENALTY, Bucket.FEES, Bucket.INTEREST), (Bucket.FEES,) * 4],
)
def test_an_order_must_name_every_bucket_once(order: tuple[Bucket, ...]) -> None:
    with pytest.raises(ValueError, match="every bucket"):
        AllocationPolicy(order=order)


def test_negative_amounts_and_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        allocate(1, [MARCH._replace(fees=-1)], AS_OF)
    with pytest.raises(ValueError, match="twice"):
        allocate(1, [MARCH, MARCH], AS_OF)
    with pytest.raises(ValueError, match="non-negative"):
        allocate(-1, [MARCH], AS_OF)


receivables = st.lists(
    st.builds(
        Receivable,
        number=st.integers(1, 10_000),
        due_date=st.dates(date(2024, 1, 1), date(2024, 12, 31)),
        principal=st.integers(0, 10**8),
        interest=st.integers(0, 10**6),
        fees=st.integers(0, 10**4),
        penalty=st.integers(0, 10**5),
    ),
    max_size=12,
    unique_by=lambda r: r.number,
)
policies = st.builds(
    AllocationPolicy,
    order=st.permutations(list(Bucket)).map(tuple),
    sweep=st.sampled_from(Sweep),
)


def _owed_before(book: list[Receivable]) -> dict[tuple[int, Bucket], int]:
    return {(r.number, b): r.owed(b) for r in book for b in Bucket}


@given(
    receivables, st.integers(0, 2 * 10**8), st.dates(date(2024, 1, 1), date(2025, 1, 31)), policies
)
def test_allocation_conserves_money_and_never_overdraws_a_bucket(
    book: list[Receivable], payment: int, as_of: date, policy: AllocationPolicy
) -> None:
    result: Allocation = allocate(payment, book, as_of, policy)
    before = _owed_before(book)
    after = _owed_before(list(result.outstanding))
    assert sum(line.amount for line in result.lines) + result.overpayment == payment
    assert result.allocated <= payment
    assert result.overpayment >= 0
    for key, owed in before.items():
        applied = sum(line.amount for line in result.lines if (line.number, line.bucket) == key)
        assert 0 <= applied <= owed
        assert after[key] == owed - applied >= 0
    eligible = [r for r in book if r.due_date < as_of and not r.settled]
    current = sorted(
        (r for r in book if r.due_date >= as_of and not r.settled),
        key=lambda r: (r.due_date, r.number),
    )[:1]
    if result.overpayment:
        # Money is only left over once everything eligible is settled.
        assert all(after[(r.number, b)] == 0 for r in eligible + current for b in Bucket)


@given(receivables, st.integers(0, 2 * 10**8), policies)
def test_overdue_instalments_are_served_in_order(
    book: list[Receivable], payment: int, policy: AllocationPolicy
) -> None:
    as_of = date(2025, 1, 1)  # everything is overdue
    result = allocate(payment, book, as_of, policy)
    after = _owed_before(list(result.outstanding))
    rank = {b: i for i, b in enumerate(policy.order)}
    ordered = sorted(book, key=lambda r: (r.due_date, r.number))
    position = {r.number: i for i, r in enumerate(ordered)}
    for line in result.lines:
        # Anything that should have been served before this line was settled in full.
        for r in ordered:
            for b in Bucket:
                if policy.sweep is Sweep.INSTALMENT_BY_INSTALMENT:
                    earlier = (position[r.number], rank[b]) < (
                        position[line.number],
                        rank[line.bucket],
                    )
                else:
                    earlier = (rank[b], position[r.number]) < (
                        rank[line.bucket],
                        position[line.number],
                    )
                if earlier:
                    assert after[(r.number, b)] == 0


def test_due_dates_across_a_long_book_are_served_oldest_first() -> None:
    book = [
        Receivable(n, date(2024, 1, 1) + timedelta(days=30 * (10 - n)), 100, 0, 0, 0)
        for n in range(1, 10)
    ]
    result = allocate(250, book, date(2025, 1, 1))
    assert [line.number for line in result.lines] == [9, 8, 7]
