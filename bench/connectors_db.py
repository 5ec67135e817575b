"""Bulk import into the scenario store: normalise + store 100,000 records (JR/T 0269 7.3.2 c).

Builds a VAT-return JSON-lines file from the tax simulator's dirty persona rows (repeated under
distinct filing numbers), normalises it with ``connectors.bulk.import_bulk_file`` and stores the
records through ``puhui.scenario.repository.RecordRepository.upsert`` (the path syncs use):
bulk INSERT/UPDATE statements in batches, one transaction per batch, payloads sealed with the
field keyring. Runs on SQLite, and on PostgreSQL when ``--pg URL`` is given. A second pass
re-imports the same file to time the idempotent no-op path.

    .venv/bin/python bench/connectors_db.py [--quick] [--rows N] [--batch N] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from connectors import tax  # noqa: E402
from connectors.bulk import BulkFormat, import_bulk_file  # noqa: E402
from connectors.testing import grant_for  # noqa: E402

from puhui.config import Settings, load_settings  # noqa: E402
from puhui.db.engine import create_engine  # noqa: E402
from puhui.db.migrate import upgrade  # noqa: E402
from puhui.db.session import SessionFactory  # noqa: E402
from puhui.scenario.repository import RecordRepository, UpsertCounts  # noqa: E402
from puhui.scenario.store import field_classes, record_row  # noqa: E402
from puhui.security.fieldcrypto import FieldKeyring  # noqa: E402
from puhui.security.keyring import install_keyring  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from connectors_import import build_rows, to_jsonl  # noqa: E402


async def _fresh_pg(url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{url.rpartition('/')[0]}/{name}"


def _migrated(url: str) -> Settings:
    settings = load_settings(
        {}, database_url=url, environment="test", key_dir=Path(tempfile.mkdtemp())
    )
    upgrade(settings, "0013_scenario")
    return settings


async def _import(settings: Settings, lines: list[str], batch: int) -> dict[str, Any]:
    engine = create_engine(settings)
    db = SessionFactory(engine)
    binding = tax.connector.binding("vat_returns")
    classes = field_classes(binding.spec)
    uscc_pool = {json.loads(line)["taxpayer_id"].upper() for line in lines[:500]}
    consents = {u: grant_for(u, {"tax": frozenset({"vat_returns"})}) for u in uscc_pool}
    passes: dict[str, Any] = {}
    try:
        for label in ("first", "rerun"):
            started = time.perf_counter()
            result = import_bulk_file(
                tax.connector,
                "vat_returns",
                lines,
                file_format=BulkFormat.JSON_LINES,
                consents=consents,
            )
            counts = UpsertCounts()
            records = result.records
            for start in range(0, len(records), batch):
                rows = [
                    record_row(r, spec=binding.spec, tenant_id=None, classes=classes)
                    for r in records[start : start + batch]
                ]
                async with db.unit_of_work() as session:
                    counts = counts + await RecordRepository(session).upsert(rows)
            seconds = time.perf_counter() - started
            passes[label] = {
                "rows": len(lines),
                "stored": len(records),
                "inserted": counts.inserted,
                "unchanged": counts.unchanged,
                "seconds": round(seconds, 3),
                "records_per_s": int(len(lines) / seconds),
            }
    finally:
        await engine.dispose()
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--batch", type=int, default=5000, help="records per transaction")
    parser.add_argument("--pg", default=os.environ.get("PUHUI_BENCH_PG_URL"), help="PostgreSQL URL")
    args = parser.parse_args()
    rows = args.rows or (10_000 if args.quick else 100_000)
    keys: dict[int | str, str] = {1: base64.b64encode(os.urandom(32)).decode()}
    install_keyring(FieldKeyring.from_base64(keys, 1, base64.b64encode(os.urandom(32)).decode()))
    lines = to_jsonl(build_rows(rows))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = asyncio.run(
            _import(_migrated(f"sqlite+aiosqlite:///{tmp}/bench.db"), lines, args.batch)
        )
    if args.pg:
        url = asyncio.run(_fresh_pg(args.pg, "puhui_bench_connectors"))
        results["postgresql"] = asyncio.run(_import(_migrated(url), lines, args.batch))
    print(f"{'database':<12}{'pass':<8}{'rows':>9}{'stored':>9}{'seconds':>9}{'records/s':>11}")
    for db_name, passes in results.items():
        for label, r in passes.items():
            print(
                f"{db_name:<12}{label:<8}{r['rows']:>9}{r['stored']:>9}"
                f"{r['seconds']:>9}{r['records_per_s']:>11}"
            )
    out = ROOT / "bench" / "results" / "connectors_db.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "connectors_db",
        "quick": args.quick,
        "batch": args.batch,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
