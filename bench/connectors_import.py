"""Normalisation throughput of a bulk-file import (JR/T 0269 7.3.2 c bulk mode).

Builds a 100,000-row VAT-return file from the tax simulator's dirty persona data (mixed
date, period and money formats, duplicates, a missing value), then times
``connectors.bulk.import_bulk_file`` over it as JSON lines and as CSV. Normalisation only;
``bench/connectors_db.py`` adds storage (sealed, de-duplicated, on SQLite and PostgreSQL).
Reports CPU µs per record (``time.process_time()``), which load does not distort, beside
records/s.

    .venv/bin/python bench/connectors_import.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from connectors import tax  # noqa: E402
from connectors.bulk import BulkFormat, import_bulk_file  # noqa: E402
from connectors.personas import PERSONAS  # noqa: E402
from connectors.tax.simulator import upstream_table  # noqa: E402
from connectors.testing import grant_for  # noqa: E402


def build_rows(count: int) -> list[dict[str, object]]:
    """``count`` VAT rows: the personas' rows repeated under distinct filing numbers."""
    seed_rows = [
        {k: v for k, v in row.items() if k != "_key"}
        for rows in upstream_table()["vat-returns"].values()
        for row in rows
    ]
    return [
        seed_rows[i % len(seed_rows)]
        | {"filing_no": f"{seed_rows[i % len(seed_rows)]['filing_no']}-{i // len(seed_rows)}"}
        for i in range(count)
    ]


def to_jsonl(rows: list[dict[str, object]]) -> list[str]:
    encoder = msgspec.json.Encoder(decimal_format="number")
    return [encoder.encode(r).decode() for r in rows]


def to_csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def run(rows: int, repeats: int) -> dict[str, object]:
    data = build_rows(rows)
    consents = {p.uscc: grant_for(p.uscc, {"tax": frozenset({"vat_returns"})}) for p in PERSONAS}
    inputs = {BulkFormat.JSON_LINES: to_jsonl(data), BulkFormat.CSV: to_csv(data)}
    results: dict[str, object] = {}
    for fmt, content in inputs.items():
        best = float("inf")
        best_cpu = float("inf")
        accepted = rejected = duplicates = 0
        for _ in range(repeats):
            started = time.perf_counter()
            cpu_started = time.process_time()
            imported = import_bulk_file(
                tax.connector, "vat_returns", content, file_format=fmt, consents=consents
            )
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - cpu_started)
            accepted = imported.quality.rows_accepted
            rejected = imported.quality.rows_rejected
            duplicates = imported.quality.duplicates_removed
        results[fmt.value] = {
            "rows": rows,
            "seconds": round(best, 3),
            "records_per_s": int(rows / best),
            "cpu_us_per_record": round(best_cpu / rows * 1e6, 1),
            "accepted": accepted,
            "rejected": rejected,
            "duplicates_removed": duplicates,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows, one repeat")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "connectors_import.json"
    )
    args = parser.parse_args()
    rows, repeats = (10_000, 1) if args.quick else (args.rows, 3)
    results = run(rows, repeats)
    print(
        f"{'format':<8}{'rows':>10}{'seconds':>10}{'records/s':>12}{'cpu us/rec':>12}"
        f"{'accepted':>10}{'rejected':>10}{'dups':>8}"
    )
    for fmt, r in results.items():
        assert isinstance(r, dict)
        print(
            f"{fmt:<8}{r['rows']:>10}{r['seconds']:>10}{r['records_per_s']:>12}"
            f"{r['cpu_us_per_record']:>12}{r['accepted']:>10}{r['rejected']:>10}{r['duplicates_removed']:>8}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "connectors_import",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
