"""Cost of gateway step 9: reading a consent's current state on every protected call.

Times ``ConsentBoard.current`` for one authorised consent: without Redis (in-process copy checked
against the row's version stamp, one indexed column read), with Redis (one GET, no database),
and, for comparison, a full ORM reload of the consent row. Also times counting one use of the
consent (use frequency, on calls to operations that declare scopes): the database upsert without
Redis, one pipelined INCR + EXPIRE with Redis. SQLite in a temporary directory by
default; --database-url must name a scratch database (it is migrated and gets one tenant and
one consent); --redis-url adds the Redis path.

    .venv/bin/python bench/consent_enforce.py [--quick] [--redis-url redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from sqlalchemy import select  # noqa: E402

from puhui.clock import utcnow  # noqa: E402
from puhui.config import Settings, load_settings  # noqa: E402
from puhui.consent.models import Consent, ConsentStatus  # noqa: E402
from puhui.consent.status import ConsentBoard  # noqa: E402
from puhui.consent.usage import ConsentUses  # noqa: E402
from puhui.db.engine import create_engine  # noqa: E402
from puhui.db.migrate import upgrade  # noqa: E402
from puhui.db.session import SessionFactory  # noqa: E402
from puhui.tenancy.models import Tenant, TenantKind, TenantStatus  # noqa: E402


async def _seed(db: SessionFactory) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.unit_of_work() as session:
        tenant = Tenant(
            code=f"bench-{uuid.uuid4().hex[:8]}",
            name="Bench partner",
            kind=TenantKind.SCENARIO_PROVIDER,
            status=TenantStatus.ACTIVE,
        )
        session.add(tenant)
    async with db.unit_of_work(tenant.id) as session:
        now = utcnow()
        consent = Consent(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            client_id="ph_bench",
            enterprise_uscc="91440300MA5F7K2A72",
            status=ConsentStatus.AUTHORISED,
            purposes=["credit_assessment"],
            data_items=[{"source": "tax", "items": ["vat_returns"], "lookback_months": 24}],
            validity_days=90,
            uses_per_day=1_000_000,
            authorise_by=now,
            granted_at=now,
            valid_until=now + timedelta(days=90),
        )
        session.add(consent)
        return tenant.id, consent.id


async def _time(calls: int, fn: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    for _ in range(min(50, calls)):
        await fn()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return {
        "calls": calls,
        "mean_us": round(statistics.fmean(samples), 1),
        "p50_us": round(samples[len(samples) // 2], 1),
        "p99_us": round(samples[int(len(samples) * 0.99) - 1], 1),
    }


async def run(calls: int, settings: Settings, redis_url: str | None) -> dict[str, Any]:
    engine = create_engine(settings)
    db = SessionFactory(engine)
    tenant_id, consent_id = await _seed(db)
    results: dict[str, Any] = {}
    session = db(tenant_id)
    try:
        local = ConsentBoard(None)
        results["stamp_check (no Redis)"] = await _time(
            calls, lambda: local.current(session, consent_id)
        )

        async def full_reload() -> object:
            stmt = select(Consent).where(Consent.id == consent_id)
            row = (await session.execute(stmt)).scalar_one()
            session.expunge(row)
            return row

        results["full ORM reload"] = await _time(calls, full_reload)
        database_uses = ConsentUses(db)
        results["use count (DB upsert)"] = await _time(
            calls, lambda: database_uses.record(consent_id)
        )
        if redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(redis_url)
            try:
                shared = ConsentBoard(redis)
                results["Redis GET"] = await _time(
                    calls, lambda: shared.current(session, consent_id)
                )
                redis_uses = ConsentUses(db, redis)
                results["use count (Redis INCR)"] = await _time(
                    calls, lambda: redis_uses.record(consent_id)
                )
            finally:
                await redis.delete(ConsentBoard.key(consent_id))
                for key in await redis.keys(f"puhui:consent-uses:{consent_id}:*"):
                    await redis.delete(key)
                await redis.aclose()
    finally:
        await session.close()
        await engine.dispose()
    return {
        "benchmark": "consent_enforce",
        "database": settings.database_url.split(":", 1)[0],
        "python": platform.python_version(),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 calls instead of 5,000")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="puhui-bench-consent-"))
    settings = load_settings(
        {},
        database_url=args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        key_dir=tmp / "keys",
        log_level="WARNING",
    )
    upgrade(settings)
    report = asyncio.run(run(500 if args.quick else 5000, settings, args.redis_url))
    print(f"{'path':<26}{'mean µs':>10}{'p50 µs':>10}{'p99 µs':>10}")
    for name, row in report["results"].items():
        print(f"{name:<26}{row['mean_us']:>10}{row['p50_us']:>10}{row['p99_us']:>10}")
    if not args.quick:  # a smoke check never overwrites the recorded results
        out = ROOT / "bench" / "results" / "consent_enforce.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
