"""The public limits API servicing calls: occupy on disbursement, release on repayment (9.3.1)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_tenant
from tests.lending_builders import new_uscc

from puhui.audit.models import AuditRecord
from puhui.errors import Conflict, InvalidRequest, NotFound
from puhui.lending import limits
from puhui.risk.models import CreditLimitEventRow
from puhui.risk.service import CreditLimitService

pytestmark = pytest.mark.anyio

TAX = "TAX-LOAN"


async def granted(app: Litestar, total: int = 100_000_00, used: int = 40_000_00) -> str:
    """A customer with an active umbrella, `used` of it occupied by an approval."""
    tenant = await create_tenant(app)
    uscc = new_uscc()
    async with app.state.db.unit_of_work() as session:
        await CreditLimitService(session).occupy_for_approval(
            uscc, TAX, total, used, partner_tenant_id=tenant.id, reference="application-1"
        )
    return uscc


async def events(app: Litestar, limit_id: uuid.UUID) -> list[tuple[str, int, str | None]]:
    async with app.state.db.unit_of_work() as session:
        rows = await session.execute(
            select(
                CreditLimitEventRow.kind,
                CreditLimitEventRow.amount_fen,
                CreditLimitEventRow.reference,
            )
            .where(CreditLimitEventRow.limit_id == limit_id)
            .order_by(CreditLimitEventRow.at, CreditLimitEventRow.created_at)
        )
        return [(k, a, r) for k, a, r in rows]


class TestOccupy:
    async def test_occupy_is_idempotent_on_its_reference(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        uscc = await granted(app)
        async with app.state.db.unit_of_work() as session:
            first = await limits.occupy(
                session,
                uscc=uscc,
                product_code=TAX,
                amount_fen=10_000_00,
                reason="disbursement",
                ref="loan:1",
            )
        assert first.applied is True
        assert (first.exposure_fen, first.available_fen) == (50_000_00, 50_000_00)
        async with app.state.db.unit_of_work() as session:
            again = await limits.occupy(
                session,
                limit_id=first.limit_id,
                product_code=TAX,
                amount_fen=10_000_00,
                reason="disbursement retried",
                ref="loan:1",
            )
        assert again.applied is False
        assert again.exposure_fen == 50_000_00
        assert [e for e in await events(app, first.limit_id) if e[2] == "loan:1"] == [
            ("occupied", 10_000_00, "loan:1")
        ]
        async with app.state.db.unit_of_work() as session:
            audit = await session.scalar(
                select(AuditRecord.reason).where(
                    AuditRecord.action == "credit_limit.occupied",
                    AuditRecord.target == f"credit_limit:{first.limit_id}",
                )
            )
        assert audit == "disbursement"

    async def test_the_approvals_own_reference_makes_disbursement_a_no_op(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        uscc = await granted(app, used=40_000_00)
        async with app.state.db.unit_of_work() as session:
            seen = await limits.occupy(
                session,
                uscc=uscc,
                product_code=TAX,
                amount_fen=40_000_00,
                reason="disbursement",
                ref="application-1",
            )
        assert seen.applied is False
        assert seen.exposure_fen == 40_000_00

    async def test_a_reused_reference_with_another_amount_is_a_conflict(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        uscc = await granted(app)
        async with app.state.db.unit_of_work() as session:
            await limits.occupy(
                session,
                uscc=uscc,
                product_code=TAX,
                amount_fen=1_000_00,
                reason="disbursement",
                ref="loan:2",
            )
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(Conflict, match="already occupied"):
                await limits.occupy(
                    session,
                    uscc=uscc,
                    product_code=TAX,
                    amount_fen=2_000_00,
                    reason="disbursement",
                    ref="loan:2",
                )

    async def test_over_crediting_and_a_frozen_limit_are_refused(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        uscc = await granted(app)
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(Conflict, match="Over-crediting"):
                await limits.occupy(
                    session,
                    uscc=uscc,
                    product_code=TAX,
                    amount_fen=60_000_01,
                    reason="disbursement",
                    ref="loan:3",
                )
        async with app.state.db.unit_of_work() as session:
            await CreditLimitService(session).freeze(uscc, "early warning")
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(Conflict, match="frozen"):
                await limits.occupy(
                    session,
                    uscc=uscc,
                    product_code=TAX,
                    amount_fen=1_00,
                    reason="disbursement",
                    ref="loan:4",
                )
            # repayments still come back while frozen
            released = await limits.release(
                session,
                uscc=uscc,
                product_code=TAX,
                amount_fen=5_000_00,
                reason="instalment 1",
                ref="repayment:1",
            )
        assert released.state == "frozen"
        assert released.exposure_fen == 35_000_00


class TestRelease:
    async def test_release_is_idempotent_and_bounded_by_what_is_occupied(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        uscc = await granted(app, used=40_000_00)
        async with app.state.db.unit_of_work() as session:
            position = await limits.position(session, uscc=uscc)
        for _ in range(2):
            async with app.state.db.unit_of_work() as session:
                after = await limits.release(
                    session,
                    limit_id=position.limit_id,
                    product_code=TAX,
                    amount_fen=15_000_00,
                    reason="instalment",
                    ref="repayment:7",
                )
            assert after.available_fen == 75_000_00
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(Conflict, match="exceeds"):
                await limits.release(
                    session,
                    uscc=uscc,
                    product_code=TAX,
                    amount_fen=25_000_01,
                    reason="instalment",
                    ref="repayment:8",
                )
        async with app.state.db.unit_of_work() as session:
            settled = await limits.release(
                session,
                uscc=uscc,
                product_code=TAX,
                amount_fen=40_000_00,
                reason="loan cancelled",
                ref="settlement:1",
                cause=limits.ReleaseCause.SETTLEMENT,
            )
        assert settled.exposure_fen == 0
        kinds = [(k, r) for k, _, r in await events(app, position.limit_id)]
        assert kinds.count(("released", "repayment:7")) == 1

    async def test_bad_calls_are_problems(self, app: Litestar, client: httpx.AsyncClient) -> None:
        uscc = await granted(app)
        async with app.state.db.unit_of_work() as session:
            with pytest.raises(NotFound):
                await limits.position(session, uscc=new_uscc())
            with pytest.raises(NotFound):
                await limits.release(
                    session,
                    limit_id=uuid.uuid4(),
                    product_code=TAX,
                    amount_fen=1,
                    reason="x",
                    ref="r",
                )
            with pytest.raises(InvalidRequest):
                await limits.position(session)
            with pytest.raises(InvalidRequest):
                await limits.occupy(
                    session, uscc=uscc, product_code=TAX, amount_fen=1, reason="x", ref=""
                )
            with pytest.raises(Conflict, match="no sub-limit"):
                await limits.occupy(
                    session, uscc=uscc, product_code="OTHER", amount_fen=1, reason="x", ref="o"
                )
            with pytest.raises(Conflict, match="positive"):
                await limits.occupy(
                    session, uscc=uscc, product_code=TAX, amount_fen=0, reason="x", ref="z"
                )
