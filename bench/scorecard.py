"""Scorecard benchmark: training time, batch scoring throughput, single-applicant latency.

Targets: train on 100,000 rows x 30 columns in < 60 s; batch scoring >= 100,000 rows/s.
Writes bench/results/scorecard.json. `--quick` runs a smaller sample for CI smoke checks.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from puhui.risk.scorecard import ScorecardModel, load_csv, train_scorecard
from puhui.risk.synthetic import TARGET, generate_sme_borrowers

RESULTS = Path(__file__).resolve().parent / "results" / "scorecard.json"
TRAIN_TARGET_SECONDS = 60.0
BATCH_TARGET_ROWS_PER_SECOND = 100_000.0


def _columns(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """30 feature columns: the 11 synthetic SME features plus correlated copies and noise."""
    portfolio = generate_sme_borrowers(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    columns: dict[str, np.ndarray] = dict(portfolio.columns)
    base = ["tax_revenue_trend", "tax_revenue_volatility", "payer_concentration"]
    for name in base:  # near-duplicates: exercise correlation pruning
        values = portfolio.columns[name].astype(np.float64)
        columns[f"{name}_3m"] = np.round(values + rng.normal(0, 0.05, n), 4)
    for i in range(13):
        noise = np.round(rng.normal(0, 1, n), 4)
        noise[rng.random(n) < 0.05] = np.nan
        columns[f"noise_{i:02d}"] = noise
    for i in range(3):
        columns[f"segment_{i}"] = rng.choice(np.array(["a", "b", "c", "d", "e"], dtype=object), n)
    assert len(columns) == 30, len(columns)
    return columns, portfolio.defaulted


def _write_csv(path: Path, columns: dict[str, np.ndarray], bad: np.ndarray) -> None:
    names = list(columns)
    lists = [columns[name].tolist() for name in names]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, TARGET])
        for row in range(bad.shape[0]):
            cells = []
            for values in lists:
                value = values[row]
                missing = value is None or (isinstance(value, float) and np.isnan(value))
                cells.append("" if missing else value)
            writer.writerow([*cells, int(bad[row])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 training rows, fewer probes")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 100,000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    n_train = args.rows or (20_000 if args.quick else 100_000)
    n_batch = 100_000 if args.quick else 500_000
    n_single = 2_000 if args.quick else 20_000

    columns, bad = _columns(n_train, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "development.csv"
        _write_csv(path, columns, bad)
        started, cpu_started = time.perf_counter(), time.process_time()
        dataset = load_csv(path, target=TARGET)
        loaded = time.perf_counter()
        outcome = train_scorecard(dataset)
        finished, train_cpu = time.perf_counter(), time.process_time() - cpu_started
    model: ScorecardModel = outcome.model
    load_seconds, fit_seconds = loaded - started, finished - loaded

    batch_columns, _ = _columns(n_batch, seed=12)
    model.score_batch({k: v[:1000] for k, v in batch_columns.items()})  # warm-up
    started, cpu_started = time.perf_counter(), time.process_time()
    model.score_batch(batch_columns)
    batch_seconds = time.perf_counter() - started
    batch_cpu = time.process_time() - cpu_started
    numeric_only = {k: v for k, v in batch_columns.items() if v.dtype.kind == "f"}
    started = time.perf_counter()
    model.score_batch(numeric_only)
    numeric_seconds = time.perf_counter() - started

    single_columns, _ = _columns(n_single, seed=13)
    names = list(single_columns)
    lists = [single_columns[name].tolist() for name in names]
    applicants = [
        {name: values[i] for name, values in zip(names, lists, strict=True)}
        for i in range(n_single)
    ]
    latencies = []
    for applicant in applicants:
        t0 = time.perf_counter_ns()
        model.score(applicant)
        latencies.append((time.perf_counter_ns() - t0) / 1000.0)
    latencies.sort()

    results = {
        "benchmark": "scorecard",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "training": {
            "rows": n_train,
            "columns": len(columns),
            "features_kept": len(model.feature_names),
            "load_csv_seconds": round(load_seconds, 3),
            "train_seconds": round(fit_seconds, 3),
            "total_seconds": round(load_seconds + fit_seconds, 3),
            "cpu_seconds": round(train_cpu, 3),  # process CPU incl. CSV load, all threads
            "target_seconds": TRAIN_TARGET_SECONDS,
            "test_auc": round(outcome.metrics["test"]["auc"], 4),
        },
        "batch_scoring": {
            "rows": n_batch,
            "rows_per_second": round(n_batch / batch_seconds),
            "rows_per_cpu_second": round(n_batch / batch_cpu),
            "numeric_columns_only_rows_per_second": round(n_batch / numeric_seconds),
            "target_rows_per_second": BATCH_TARGET_ROWS_PER_SECOND,
        },
        "single_score_latency_us": {
            "samples": n_single,
            "p50": round(statistics.median(latencies), 2),
            "p99": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max": round(latencies[-1], 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    training, batch, single = (
        results["training"],
        results["batch_scoring"],
        results["single_score_latency_us"],
    )
    print(f"{'measure':<40}{'value':>16}{'target':>14}")
    print(f"{'training rows x columns':<40}{f'{n_train} x {len(columns)}':>16}")
    print(f"{'train time incl. CSV load (s)':<40}{training['total_seconds']:>16}{'< 60':>14}")
    print(f"{'  of which CSV load (s)':<40}{training['load_csv_seconds']:>16}")
    print(f"{'  CPU seconds (all threads)':<40}{training['cpu_seconds']:>16}")
    print(f"{'test AUC':<40}{training['test_auc']:>16}")
    print(f"{'batch scoring (rows/s)':<40}{batch['rows_per_second']:>16,}{'>= 100,000':>14}")
    print(f"{'  per CPU second (rows)':<40}{batch['rows_per_cpu_second']:>16,}")
    numeric_rate = batch["numeric_columns_only_rows_per_second"]
    print(f"{'  numeric columns only (rows/s)':<40}{numeric_rate:>16,}")
    print(f"{'single score p50 (us)':<40}{single['p50']:>16}")
    print(f"{'single score p99 (us)':<40}{single['p99']:>16}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
