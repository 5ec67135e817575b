#!/usr/bin/env sh
# Every benchmark at full size, one after another. Run it on a quiet machine: the figures are
# wall-clock throughput and latency. Each script writes its JSON under bench/results/; the log of
# this run goes to stdout. PostgreSQL and Redis are the machine's (see .ci/run).
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG="${PUHUI_BENCH_PG:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}"
run() { echo "==> $*"; "$PY" "$@"; }

run bench/gateway.py
run bench/gateway.py --cpu
run bench/gateway.py --skip-audit-commit  # ablation: what the durable audit commit costs
run bench/oauth.py
run bench/oauth_primitives.py
run bench/consent_enforce.py
run bench/security_primitives.py
run bench/connectors_import.py
run bench/connectors_db.py --pg "$PG"
run bench/decision.py
run bench/decision_db.py
run bench/scorecard.py
run bench/schedules.py
run bench/renewal.py
run bench/renewal.py --pg "$PG"
