"""The ledger: one posting per event key, reversals instead of edits, database constraints."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.exc import IntegrityError
from tests.builders import member_client
from tests.servicing_builders import open_sandbox_loan

from puhui.servicing.ledger import account_balances, credit, debit, post, reverse
from puhui.servicing.models import AccountType, JournalEntry
from puhui.tenancy.models import TenantKind

pytestmark = pytest.mark.anyio

DAY = date(2026, 5, 1)


async def test_a_reversal_undoes_an_entry_once_and_leaves_it_in_place(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    _, tenant, _ = await member_client(app, ("owner",))
    loan = await open_sandbox_loan(app, tenant)
    legs = [debit(AccountType.PENALTY_RECEIVABLE, 321), credit(AccountType.PENALTY_INCOME, 321)]
    async with app.state.db.unit_of_work(tenant.id) as session:
        entry = await post(
            session, kind="penalty", event_key=f"t:{loan.id}", value_date=DAY, legs=legs,
            memo="test", loan_id=loan.id,
        )  # fmt: skip
        same = await post(
            session, kind="penalty", event_key=f"t:{loan.id}", value_date=DAY, legs=legs,
            memo="retried", loan_id=loan.id,
        )  # fmt: skip
        assert same.id == entry.id
        assert (await account_balances(session, loan.id))[AccountType.PENALTY_RECEIVABLE] == 321
        undo = await reverse(session, entry, value_date=DAY, memo="posted in error")
        again = await reverse(session, entry, value_date=DAY, memo="twice")
        assert again.id == undo.id
        assert undo.reverses_id == entry.id
        balances = await account_balances(session, loan.id)
        assert balances[AccountType.PENALTY_RECEIVABLE] == 0
        assert balances[AccountType.PENALTY_INCOME] == 0


async def test_the_database_refuses_an_unbalanced_entry(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    _, tenant, _ = await member_client(app, ("owner",), kind=TenantKind.SCENARIO_PROVIDER)
    forged = JournalEntry(
        tenant_id=tenant.id, kind="forged", event_key=f"forged:{tenant.id}",
        value_date=DAY, memo="x", total_debit=100, total_credit=90,
    )  # fmt: skip
    async with app.state.db.unit_of_work(tenant.id) as session:
        session.add(forged)
        with pytest.raises(IntegrityError):
            await session.flush()
        await session.rollback()
