"""Consent lifecycle through the service: transitions, history, receipts, events, expiry job."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_tenant
from tests.consent_builders import authorised_consent, create_customer, request_consent

from puhui.clock import FrozenClock
from puhui.consent.jobs import expire_consents
from puhui.consent.models import (
    Consent,
    ConsentHistory,
    ConsentReceipt,
    ConsentStatus,
    HistoryIsAppendOnly,
)
from puhui.consent.receipts import verify_receipt
from puhui.consent.service import revoke_consent
from puhui.consent.status import board_of
from puhui.db.session import tenant_bypass
from puhui.errors import Conflict
from puhui.jobs import JobContext, discover, run_job
from puhui.webhooks.models import PartnerEvent

pytestmark = pytest.mark.anyio


async def _rows(
    app: Litestar, consent_id: uuid.UUID
) -> tuple[Consent, list[str], list[str], list[str]]:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.inspect"):
            consent = await session.get(Consent, consent_id)
            history = (
                (
                    await session.execute(
                        select(ConsentHistory.to_status)
                        .where(ConsentHistory.consent_id == consent_id)
                        .order_by(ConsentHistory.occurred_at, ConsentHistory.id)
                    )
                )
                .scalars()
                .all()
            )
            receipts = (
                (
                    await session.execute(
                        select(ConsentReceipt).where(ConsentReceipt.consent_id == consent_id)
                    )
                )
                .scalars()
                .all()
            )
            events = (
                (
                    await session.execute(
                        select(PartnerEvent.event_type).where(
                            PartnerEvent.subject == f"consent:{consent_id}"
                        )
                    )
                )
                .scalars()
                .all()
            )
    assert consent is not None
    assert all(verify_receipt(r) for r in receipts)
    return consent, list(history), sorted(r.event.value for r in receipts), list(events)


async def test_grant_then_revoke_keeps_history_receipts_and_tells_the_partner(
    app: Litestar,
) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_lifecycle", customer, validity_days=30)
    assert consent.valid_until is not None
    assert consent.granted_at is not None
    assert consent.valid_until - consent.granted_at == timedelta(days=30)
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = await session.get(Consent, consent.id)
        assert row is not None
        await revoke_consent(
            session, board_of(app.state), row, actor="partner", issuer="http://127.0.0.1:8000"
        )
    stored, history, receipts, events = await _rows(app, consent.id)
    assert stored.status is ConsentStatus.REVOKED
    assert stored.ended_by == "partner"
    assert history == ["awaiting_authorisation", "authorised", "revoked"]
    assert receipts == ["granted", "revoked"]
    assert events == ["consent.revoked"]


async def test_a_revoked_consent_cannot_be_revoked_or_granted_again(app: Litestar) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_twice", customer)
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = await session.get(Consent, consent.id)
        assert row is not None
        board = board_of(app.state)
        await revoke_consent(session, board, row, actor="customer", issuer="x")
        with pytest.raises(Conflict):
            await revoke_consent(session, board, row, actor="customer", issuer="x")


async def test_history_and_receipts_are_append_only(app: Litestar) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_append", customer)
    async with app.state.db.unit_of_work(tenant.id) as session:
        receipt = (
            await session.execute(
                select(ConsentReceipt).where(ConsentReceipt.consent_id == consent.id)
            )
        ).scalar_one()
        receipt.digest = "0" * 64
        with pytest.raises(HistoryIsAppendOnly):
            await session.flush()
        await session.rollback()
    async with app.state.db.unit_of_work(tenant.id) as session:
        entry = (
            await session.execute(
                select(ConsentHistory).where(ConsentHistory.consent_id == consent.id).limit(1)
            )
        ).scalar_one()
        await session.delete(entry)
        with pytest.raises(HistoryIsAppendOnly):
            await session.flush()
        await session.rollback()


async def test_the_expiry_job_expires_lapsed_consents_with_receipts_and_events(
    app: Litestar, frozen: FrozenClock
) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    granted = await authorised_consent(app, tenant, "ph_expiry", customer, validity_days=10)
    unanswered = await request_consent(app, tenant, "ph_expiry", customer.enterprise.uscc)
    frozen.advance(timedelta(days=9))
    await expire_consents(app.state.db, app.state.settings, board_of(app.state))
    assert (await _rows(app, granted.id))[0].status is ConsentStatus.AUTHORISED
    assert (await _rows(app, unanswered.id))[0].status is ConsentStatus.EXPIRED

    frozen.advance(timedelta(days=1, seconds=1))
    assert await expire_consents(app.state.db, app.state.settings, board_of(app.state)) >= 1
    stored, history, receipts, events = await _rows(app, granted.id)
    assert stored.status is ConsentStatus.EXPIRED
    assert stored.ended_by == "system"
    assert history[-1] == "expired"
    assert receipts == ["expired", "granted"]
    assert events == ["consent.expired"]
    # the request nobody answered was never granted: no receipt, but the partner is told
    assert (await _rows(app, unanswered.id))[2:] == ([], ["consent.expired"])


async def test_the_registered_consent_expire_job_issues_receipts_and_events(
    app: Litestar, frozen: FrozenClock
) -> None:
    assert "consent.expire" in discover()
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    granted = await authorised_consent(app, tenant, "ph_job", customer, validity_days=3)
    frozen.advance(timedelta(days=3, seconds=1))
    seen: list[tuple[int, int | None]] = []
    ctx = JobContext(
        settings=app.state.settings,
        db=app.state.db,
        redis=app.state.redis,
        progress=lambda done, total: seen.append((done, total)),
    )
    result = await run_job("consent.expire", ctx, trigger="test")
    assert result is not None
    assert result.outcome == "ok", result.error
    assert result.handled >= 1
    assert seen
    assert seen[-1][0] == result.handled
    stored, history, receipts, events = await _rows(app, granted.id)
    assert stored.status is ConsentStatus.EXPIRED
    assert history[-1] == "expired"
    assert receipts == ["expired", "granted"]
    assert events == ["consent.expired"]
    # the enforcement board saw it too: a consent-bound call would stop at once
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.inspect"):
            state = await board_of(app.state).current(session, granted.id)
    assert state is not None
    assert not state.is_active()
    # safe to run twice: nothing of ours is left to expire, and no second receipt appears
    again = await run_job("consent.expire", ctx, trigger="test")
    assert again is not None
    assert again.outcome == "ok"
    assert (await _rows(app, granted.id))[2] == ["expired", "granted"]
