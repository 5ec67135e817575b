"""The ledger refuses any entry whose debits and credits differ."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.servicing.ledger import LedgerImbalance, Leg, balanced, credit, debit
from puhui.servicing.models import AccountType

accounts = st.sampled_from(list(AccountType))
amounts = st.integers(min_value=0, max_value=10**12)


@given(st.lists(st.tuples(accounts, amounts, st.booleans()), min_size=1, max_size=12))
def test_an_entry_is_accepted_exactly_when_it_balances(
    raw: list[tuple[AccountType, int, bool]],
) -> None:
    legs = [Leg(a, n, d) for a, n, d in raw]
    debits = sum(n for _, n, d in raw if d)
    credit_total = sum(n for _, n, d in raw if not d)
    if debits == credit_total and debits > 0:
        live, total = balanced("test", legs)
        assert total == debits
        assert all(leg.amount > 0 for leg in live)
    else:
        with pytest.raises(LedgerImbalance):
            balanced("test", legs)


def test_a_disbursement_with_a_withheld_fee_balances() -> None:
    live, total = balanced(
        "disbursement",
        [
            debit(AccountType.PRINCIPAL_RECEIVABLE, 1_000_000),
            credit(AccountType.CUSTOMER_SETTLEMENT, 990_000),
            credit(AccountType.FEE_INCOME, 10_000),
            credit(AccountType.SUSPENSE, 0),
        ],
    )
    assert total == 1_000_000
    assert len(live) == 3


def test_negative_legs_are_refused_even_when_the_sums_match() -> None:
    with pytest.raises(LedgerImbalance, match="negative"):
        balanced(
            "bad",
            [
                debit(AccountType.SUSPENSE, 100),
                credit(AccountType.SUSPENSE, 200),
                credit(AccountType.INTEREST_INCOME, -100),
            ],
        )
