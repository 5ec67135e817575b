"""Bulk-file and push modes go through the same normalisers, consent checks and quality report."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date

import msgspec
from connectors import payroll, utilities
from connectors.bulk import BulkFormat, import_bulk_file
from connectors.contract import ConnectionMode, ConsentDenied, UpstreamDataError
from connectors.payroll.schemas import PayrollMonth
from connectors.personas import PersonaProfile, persona
from connectors.push import validate_push
from connectors.testing import grant_for
from connectors.utilities.simulator import upstream_table

HEALTHY = persona(PersonaProfile.HEALTHY)
ARREARS = persona(PersonaProfile.ARREARS)
BILLS = {"utilities": frozenset({"utility_bills"})}


def _bill_rows() -> list[dict[str, object]]:
    table = upstream_table()
    rows = [*table["bills"][HEALTHY.uscc], *table["bills"][ARREARS.uscc]]
    return [{k: v for k, v in r.items() if k != "_key"} for r in rows]


def _csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_csv_import_keeps_only_consented_enterprises() -> None:
    rows = _bill_rows()
    result = import_bulk_file(
        utilities.connector,
        "bills",
        _csv(rows),
        file_format=BulkFormat.CSV,
        consents={HEALTHY.uscc: grant_for(HEALTHY.uscc, BILLS)},
    )
    assert result.records
    assert {r.provenance.collection_object for r in result.records} == {HEALTHY.uscc}
    assert all(r.provenance.collection_channel is ConnectionMode.BULK_FILE for r in result.records)
    assert all(r.provenance.consent_id == f"consent-{HEALTHY.uscc[-6:]}" for r in result.records)
    assert result.quality.rows_in == len(rows)
    assert result.quality.rejection_reasons == {"no_consent": len(rows) // 2}


def test_jsonl_import_matches_csv_and_counts_garbage_lines() -> None:
    rows = _bill_rows()
    lines = [msgspec.json.encode(r).decode() for r in rows] + ["{not json"]
    consents = {u: grant_for(u, BILLS) for u in (HEALTHY.uscc, ARREARS.uscc)}
    from_jsonl = import_bulk_file(
        utilities.connector, "bills", lines, file_format=BulkFormat.JSON_LINES, consents=consents
    )
    from_csv = import_bulk_file(
        utilities.connector, "bills", _csv(rows), file_format=BulkFormat.CSV, consents=consents
    )
    assert {r.content_hash for r in from_jsonl.records} == {
        r.content_hash for r in from_csv.records
    }
    assert from_jsonl.quality.rows_rejected == 1
    assert from_csv.quality.rows_rejected == 0


def test_push_is_normalised_like_a_pull() -> None:
    body = msgspec.json.encode(
        {
            "stream": "payroll_months",
            "items": [
                {
                    "batch_no": "PR-1",
                    "employer_uscc": HEALTHY.uscc,
                    "pay_month": "2025年6月",
                    "employees": "41",
                    "gross_total": "36.9万元",
                    "paid_at": "2025/07/10",
                },
                {
                    "batch_no": "PR-X",
                    "employer_uscc": ARREARS.uscc,  # another enterprise: not under this consent
                    "pay_month": "2025-06",
                    "employees": 3,
                    "gross_total": 1000,
                    "paid_at": "2025-07-10",
                },
            ],
        }
    )
    grant = grant_for(HEALTHY.uscc, {"payroll": frozenset({"payroll_summary"})})
    outcome = asyncio.run(validate_push(payroll.connector, body, grant))
    assert outcome.error is None
    (record,) = outcome.records
    assert record.data == PayrollMonth(
        payroll_id="PR-1",
        uscc=HEALTHY.uscc,
        period="2025-06",
        headcount=41,
        gross_pay_fen=36_900_000,
        paid_on=date(2025, 7, 10),
    )
    assert record.provenance.collection_channel is ConnectionMode.PUSH_WEBHOOK
    assert outcome.quality is not None
    assert outcome.quality.rejection_reasons == {"foreign_subject": 1}


def test_push_without_consent_or_with_garbage_is_refused_whole() -> None:
    grant = grant_for(HEALTHY.uscc, {"payroll": frozenset({"payroll_summary"})})
    body = msgspec.json.encode({"stream": "social_insurance", "items": [{}]})
    refused = asyncio.run(validate_push(payroll.connector, body, grant))
    assert isinstance(refused.error, ConsentDenied)
    assert refused.records == ()
    garbage = asyncio.run(validate_push(payroll.connector, b"[1,2", grant))
    assert isinstance(garbage.error, UpstreamDataError)
