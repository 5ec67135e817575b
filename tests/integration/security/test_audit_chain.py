"""The audit trail: API calls and domain events share one hash chain per day; `puhui audit
verify` catches a changed, removed or reordered record; retention archives then purges."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from litestar import Litestar
from sqlalchemy import delete, select, text, update
from tests.builders import member_client
from tests.conftest import freeze_clock, fresh_database_url, make_settings

from puhui.app import create_app
from puhui.audit import record_event
from puhui.audit.models import AuditDayHead, AuditRecord
from puhui.audit.retention import archive_and_purge
from puhui.audit.verify import verify_days
from puhui.cli import main
from puhui.clock import FrozenClock, set_clock, utcnow
from puhui.config import Settings
from puhui.db.migrate import upgrade
from puhui.jobs import JobContext, discover

pytestmark = pytest.mark.anyio


_days = itertools.count(1)


@pytest.fixture(scope="module")
def chain_settings(
    tmp_path_factory: pytest.TempPathFactory, worker_label: str, settings: Settings
) -> Settings:
    """A database of its own: these tests tamper with the chain on purpose."""
    url = fresh_database_url(tmp_path_factory.mktemp("chain"), f"{worker_label}_chain")
    own = make_settings(url, key_dir=settings.key_dir)
    upgrade(own)
    return own


@pytest.fixture
def chain_day() -> Iterator[date]:
    """Each test writes (and breaks) a day of its own: the clock stands on a fresh day."""
    start = datetime(2030, 1, 1, 9, tzinfo=UTC) + timedelta(days=next(_days) * 3)
    with freeze_clock(start) as clock:
        yield clock.now().date()


@pytest.fixture
async def own_app(chain_settings: Settings, chain_day: date) -> AsyncIterator[Litestar]:
    app = create_app(chain_settings)
    async with app.lifespan():
        yield app


async def _calls(app: Litestar, n: int) -> None:
    member, _, _ = await member_client(app)
    for _ in range(n):
        assert (await member.get("/api/v1/tenant/")).status_code == 200


async def _verify(app: Litestar) -> list[tuple[bool, int | None, str | None]]:
    await app.state.gateway.audit.seal_pending()
    async with app.state.db.engine.connect() as conn:
        verdicts = await verify_days(conn, utcnow().date())
    return [(v.ok, v.first_bad_seq, v.reason) for v in verdicts]


async def _sealed(app: Litestar) -> list[AuditRecord]:
    async with app.state.db.unit_of_work() as session:
        return list(
            (
                await session.scalars(
                    select(AuditRecord)
                    .where(AuditRecord.day == utcnow().date())
                    .order_by(AuditRecord.seq)
                )
            ).all()
        )


async def _execute(app: Litestar, *statements: object) -> None:
    async with app.state.db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


async def test_intact_chain_verifies_and_domain_events_join_it(own_app: Litestar) -> None:
    await _calls(own_app, 3)
    async with own_app.state.db.unit_of_work() as session:
        record_event(session, "test.domain_event", reason="a change committed with its record")
    assert await _verify(own_app) == [(True, None, None)]
    rows = await _sealed(own_app)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert "test.domain_event" in [r.action for r in rows]
    assert all(r.chain_hash for r in rows)


async def test_changed_record_is_detected(own_app: Litestar) -> None:
    await _calls(own_app, 4)
    assert (await _verify(own_app))[0][0]
    victim = (await _sealed(own_app))[2]
    await _execute(
        own_app,
        update(AuditRecord).where(AuditRecord.id == victim.id).values(outcome="success-ish"),
    )
    ok, bad_seq, reason = (await _verify(own_app))[0]
    assert not ok
    assert bad_seq == victim.seq
    assert reason is not None
    assert "hash" in reason


async def test_removed_record_is_detected(own_app: Litestar) -> None:
    await _calls(own_app, 4)
    victim = (await _sealed(own_app))[1]
    await _execute(own_app, delete(AuditRecord).where(AuditRecord.id == victim.id))
    ok, bad_seq, _ = (await _verify(own_app))[0]
    assert not ok
    assert bad_seq == victim.seq


async def test_removed_tail_is_detected_against_the_day_head(own_app: Litestar) -> None:
    await _calls(own_app, 3)
    last = (await _sealed(own_app))[-1]
    await _execute(own_app, delete(AuditRecord).where(AuditRecord.id == last.id))
    ok, _, reason = (await _verify(own_app))[0]
    assert not ok
    assert reason is not None
    assert "anchor" in reason


async def test_reordered_records_are_detected(own_app: Litestar) -> None:
    await _calls(own_app, 4)
    first, second = (await _sealed(own_app))[1:3]
    assert first.seq is not None
    assert second.seq is not None
    await _execute(
        own_app,
        update(AuditRecord).where(AuditRecord.id == first.id).values(seq=-1),
        update(AuditRecord).where(AuditRecord.id == second.id).values(seq=first.seq),
        update(AuditRecord).where(AuditRecord.id == first.id).values(seq=second.seq),
    )
    ok, bad_seq, _ = (await _verify(own_app))[0]
    assert not ok
    assert bad_seq == first.seq


def test_cli_verify_reports_a_broken_day(
    chain_settings: Settings, chain_day: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def seed() -> AuditRecord:
        app = create_app(chain_settings)
        async with app.lifespan():
            await _calls(app, 2)
            await app.state.gateway.audit.seal_pending()
            return (await _sealed(app))[0]

    async def tamper(victim: AuditRecord) -> None:
        app = create_app(chain_settings)
        async with app.lifespan():
            await _execute(
                app,
                update(AuditRecord).where(AuditRecord.id == victim.id).values(client_ip="1.2.3.4"),
            )

    victim = asyncio.run(seed())
    monkeypatch.setenv("PUHUI_DATABASE_URL", chain_settings.database_url)
    monkeypatch.setenv("PUHUI_KEY_DIR", str(chain_settings.key_dir))
    runner = CliRunner()
    intact = runner.invoke(main, ["audit", "verify", "--json", "--day", str(chain_day)])
    assert intact.exit_code == 0, intact.output
    assert json.loads(intact.output)[0]["ok"] is True
    asyncio.run(tamper(victim))
    broken = runner.invoke(main, ["audit", "verify", "--json", "--day", str(victim.day)])
    assert broken.exit_code == 1
    assert json.loads(broken.output)[0]["first_bad_seq"] == victim.seq


async def test_retention_archives_then_purges_old_days(
    own_app: Litestar, tmp_path: Path, chain_day: date
) -> None:
    await _calls(own_app, 3)
    await own_app.state.gateway.audit.seal_pending()
    old_day = chain_day
    later = FrozenClock(utcnow() + timedelta(days=200))
    previous = set_clock(later)

    try:
        archived = await archive_and_purge(
            own_app.state.db.engine, own_app.state.gateway.audit, tmp_path / "archive", 190
        )
    finally:
        set_clock(previous)

    assert old_day in [a.day for a in archived]
    archived = [a for a in archived if a.day == old_day]
    lines = archived[0].path.read_text().splitlines()
    assert len(lines) == archived[0].records >= 3
    manifest = json.loads((tmp_path / "archive" / f"audit-{old_day}.manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(archived[0].path.read_bytes()).hexdigest()
    assert manifest["chain_verified"] is True
    async with own_app.state.db.unit_of_work() as session:
        left = await session.scalar(
            select(text("count(*)")).select_from(AuditRecord).where(AuditRecord.day == old_day)
        )
        head = await session.scalar(select(AuditDayHead).where(AuditDayHead.day == old_day))
        purge_record = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == "audit.retention_archived")
        )
    assert left == 0
    assert head is not None
    assert head.archive_sha256 == manifest["sha256"]
    assert purge_record is not None
    async with own_app.state.db.engine.connect() as conn:
        (verdict,) = await verify_days(conn, old_day)
    assert verdict.ok
    assert verdict.archived


async def test_no_answer_without_its_audit_record(own_app: Litestar) -> None:
    """The audit store cannot commit (its table is gone): the call answers 503 audit-unavailable
    instead of its result, and once the store is back the call left no record and no result."""
    member, _, _ = await member_client(own_app)
    assert (await member.get("/api/v1/tenant/")).status_code == 200
    await _execute(own_app, text("ALTER TABLE audit_records RENAME TO audit_records_away"))
    try:
        refused = await member.get("/api/v1/tenant/")
    finally:
        await _execute(own_app, text("ALTER TABLE audit_records_away RENAME TO audit_records"))
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/audit-unavailable")
    assert set(problem) == {"type", "title", "status", "detail", "request_id"}  # no tenant data
    assert problem["request_id"] == refused.headers["x-request-id"]
    async with own_app.state.db.unit_of_work() as session:
        left = await session.scalar(
            select(text("count(*)"))
            .select_from(AuditRecord)
            .where(AuditRecord.request_id == refused.headers["x-request-id"])
        )
    assert left == 0
    assert (await member.get("/api/v1/tenant/")).status_code == 200  # recovers by itself


async def test_retention_is_a_scheduled_job(
    own_app: Litestar, chain_settings: Settings, chain_day: date, tmp_path: Path
) -> None:
    jobs = discover()
    assert "audit.retention" in jobs
    await _calls(own_app, 2)
    await own_app.state.gateway.audit.seal_pending()
    settings = msgspec.structs.replace(chain_settings, var_dir=tmp_path)
    ctx = JobContext(settings=settings, db=own_app.state.db)
    later = set_clock(FrozenClock(utcnow() + timedelta(days=settings.audit_retention_days + 1)))
    try:
        first = await jobs["audit.retention"].fn(ctx)
        second = await jobs["audit.retention"].fn(ctx)  # safe to run twice: nothing left to do
    finally:
        set_clock(later)
    assert first is not None
    assert first >= 1
    assert second == 0
    assert (tmp_path / "audit-archive" / f"audit-{chain_day}.jsonl").exists()
    async with own_app.state.db.engine.connect() as conn:
        (verdict,) = await verify_days(conn, chain_day)
    assert verdict.ok
    assert verdict.archived
