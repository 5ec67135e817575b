"""Customer sign-in: sealed personal data, lock-out, one-time code expiry and attempt limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar import Litestar
from sqlalchemy import select, text
from tests.consent_builders import create_customer, latest_code

from puhui.clock import FrozenClock
from puhui.customers.models import CustomerUser
from puhui.customers.repository import CustomerUserRepository
from puhui.customers.service import (
    CODE_EXPIRED,
    CODE_MAX_ATTEMPTS,
    CODE_WRONG,
    authenticate_customer,
    send_one_time_code,
    verify_one_time_code,
)
from puhui.errors import LOCKED, AuthenticationRequired, ProblemError
from puhui.notify import load_notifier

pytestmark = pytest.mark.anyio


async def test_phone_id_number_and_name_are_never_stored_in_clear(app: Litestar) -> None:
    customer = await create_customer(app)
    async with app.state.db.unit_of_work() as session:
        raw = (
            await session.execute(
                text(
                    "SELECT name_enc, phone_enc, phone_bidx, id_number_enc, id_number_bidx "
                    "FROM customer_users WHERE phone_bidx IS NOT NULL"
                )
            )
        ).all()
        found = await CustomerUserRepository(session).by_phone(customer.phone)
    dump = repr(raw)
    assert customer.phone not in dump
    assert customer.id_number not in dump
    assert "张三" not in dump
    assert found is not None
    assert found.id == customer.user.id
    assert found.id_number == customer.id_number  # decrypts for the bank's own use


async def _attempt(app: Litestar, phone: str, password: str) -> ProblemError | CustomerUser:
    async with app.state.db.unit_of_work() as session:
        try:
            return await authenticate_customer(session, app.state.settings, phone, password)
        except ProblemError as exc:
            return exc


async def test_repeated_wrong_passwords_lock_the_customer_out_even_for_the_right_one(
    app: Litestar,
) -> None:
    customer = await create_customer(app)
    unknown = await _attempt(app, "13900000000", "whatever-password")
    assert isinstance(unknown, AuthenticationRequired)
    for _ in range(app.state.settings.login_max_failures - 1):
        assert isinstance(
            await _attempt(app, customer.phone, "wrong-password-1"), AuthenticationRequired
        )
    locked = await _attempt(app, customer.phone, "wrong-password-1")
    assert isinstance(locked, ProblemError)
    assert locked.kind is LOCKED
    right = await _attempt(app, customer.phone, customer.password)
    assert isinstance(right, ProblemError)
    assert right.kind is LOCKED
    assert int(right.headers["Retry-After"]) > 0


async def _code(app: Litestar, user: CustomerUser) -> tuple[object, str]:
    async with app.state.db.unit_of_work() as session:
        row = await send_one_time_code(session, load_notifier(app.state.settings), user)
    return row.id, await latest_code(app, user.id)


async def _verify(
    app: Litestar, user_id: object, code_id: object, code: str
) -> ProblemError | None:
    async with app.state.db.unit_of_work() as session:
        user = await session.get(CustomerUser, user_id)
        assert user is not None
        try:
            await verify_one_time_code(session, app.state.settings, user, code_id, code)  # type: ignore[arg-type]
        except ProblemError as exc:
            return exc
    return None


async def test_a_code_is_stored_hashed_works_once_and_expires(
    app: Litestar, frozen: FrozenClock
) -> None:
    customer = await create_customer(app)
    code_id, code = await _code(app, customer.user)
    async with app.state.db.unit_of_work() as session:
        stored = (
            (await session.execute(text("SELECT code_hash FROM customer_one_time_codes")))
            .scalars()
            .all()
        )
    assert code not in repr(stored)
    assert await _verify(app, customer.user.id, code_id, code) is None
    used = await _verify(app, customer.user.id, code_id, code)
    assert used is not None
    assert used.kind is CODE_EXPIRED

    code_id, code = await _code(app, customer.user)
    frozen.advance(timedelta(minutes=5, seconds=1))
    late = await _verify(app, customer.user.id, code_id, code)
    assert late is not None
    assert late.kind is CODE_EXPIRED


async def test_a_code_allows_few_attempts(app: Litestar) -> None:
    customer = await create_customer(app)
    code_id, code = await _code(app, customer.user)
    wrong = "000000" if code != "000000" else "111111"
    kinds = [
        (await _verify(app, customer.user.id, code_id, wrong)).kind  # type: ignore[union-attr]
        for _ in range(CODE_MAX_ATTEMPTS - 1)
    ]
    assert set(kinds) == {CODE_WRONG}
    last = await _verify(app, customer.user.id, code_id, wrong)
    assert last is not None
    assert last.kind in {CODE_EXPIRED, LOCKED}
    after = await _verify(app, customer.user.id, code_id, code)  # even the right code now
    assert after is not None
    assert after.kind in {CODE_EXPIRED, LOCKED}
    async with app.state.db.unit_of_work() as session:
        user = (
            await session.execute(select(CustomerUser).where(CustomerUser.id == customer.user.id))
        ).scalar_one()
    assert user.locked_until is not None  # five wrong codes count towards the lock-out too
