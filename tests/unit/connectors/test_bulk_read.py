"""A bulk file read in chunks, normalised in a worker process, is the file read at once."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import msgspec
import pytest
from connectors import tax
from connectors.bulk import BulkFormat, BulkRead, import_bulk_file
from connectors.consent import ConsentGrant
from connectors.personas import PERSONAS
from connectors.records import Record
from connectors.scenario import ConnectorRuntime
from connectors.tax.simulator import upstream_table
from connectors.testing import grant_for

pytestmark = pytest.mark.anyio
ITEMS = {"tax": frozenset({"vat_returns"})}


def _rows(repeats: int) -> list[dict[str, object]]:
    """The personas' dirty VAT rows (duplicates, bad values included), ``repeats`` times under
    distinct filing numbers, plus one correction of an earlier row (a superseding record)."""
    seed = [
        {k: v for k, v in row.items() if k != "_key"}
        for rows in upstream_table()["vat-returns"].values()
        for row in rows
    ]
    rows = [r | {"filing_no": f"{r['filing_no']}-{n}"} for n in range(repeats) for r in seed]
    return [*rows, rows[3] | {"vat_payable": "1.00"}]


def _jsonl(rows: list[dict[str, object]]) -> list[str]:
    encoder = msgspec.json.Encoder(decimal_format="number")
    return [encoder.encode(r).decode() for r in rows] + ["{not json"]


def _csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _consents() -> dict[str, ConsentGrant]:
    # Every persona but the last: its rows are rejected for want of a consent.
    return {p.uscc: grant_for(p.uscc, ITEMS) for p in PERSONAS[:-1]}


def _same_instant(records: list[Record], fetched_at: datetime) -> list[Record]:
    """The records as if fetched at ``fetched_at`` (each read stamps its own time)."""
    return [
        msgspec.structs.replace(
            r, provenance=msgspec.structs.replace(r.provenance, fetched_at=fetched_at)
        )
        for r in records
    ]


async def _read(read: BulkRead) -> tuple[list[Record], list[int]]:
    records: list[Record] = []
    sizes: list[int] = []
    async for chunk in read.chunks():
        records.extend(chunk)
        sizes.append(len(chunk))
    return records, sizes


@pytest.mark.parametrize("shape", ["jsonl-lines", "jsonl-text", "csv"])
async def test_the_worker_yields_the_records_and_report_of_a_whole_file_import(
    shape: str,
) -> None:
    rows = _rows(4)
    file_format = BulkFormat.CSV if shape == "csv" else BulkFormat.JSON_LINES
    content: str | list[str] = (
        _csv(rows)
        if shape == "csv"
        else _jsonl(rows)
        if shape == "jsonl-lines"
        else "\r\n".join(_jsonl(rows))  # one text, CRLF line ends, no final newline
    )
    consents = _consents()
    whole = import_bulk_file(
        tax.connector, "vat_returns", content, file_format=file_format, consents=consents
    )
    read = BulkRead(
        tax.connector,
        "vat_returns",
        content,
        file_format=file_format,
        consents=consents,
        chunk=64,
        parallel=True,
    )
    assert read.parallel
    records, sizes = await _read(read)
    assert len(sizes) > 2
    assert max(sizes) <= 64
    fetched_at = whole.records[0].provenance.fetched_at
    assert _same_instant(records, fetched_at) == list(whole.records)
    assert read.quality == whole.quality
    # The file exercises what the worker must carry across chunks.
    assert whole.quality.duplicates_removed > 0
    assert whole.quality.superseded == 1
    assert whole.quality.rejection_reasons.get("no_consent", 0) > 0


async def test_inline_chunks_match_the_worker() -> None:
    content = _jsonl(_rows(2))
    consents = _consents()
    inline, worker = (
        BulkRead(
            tax.connector,
            "vat_returns",
            content,
            file_format=BulkFormat.JSON_LINES,
            consents=consents,
            chunk=50,
            parallel=parallel,
        )
        for parallel in (False, True)
    )
    (a, a_sizes), (b, _) = await _read(inline), await _read(worker)
    assert a_sizes[:-1] == [50] * (len(a_sizes) - 1)
    assert _same_instant(b, a[0].provenance.fetched_at) == a
    assert inline.quality == worker.quality


async def test_an_abandoned_read_leaves_the_worker_usable() -> None:
    content = _jsonl(_rows(2))
    consents = _consents()
    first = BulkRead(
        tax.connector,
        "vat_returns",
        content,
        file_format=BulkFormat.JSON_LINES,
        consents=consents,
        chunk=20,
        parallel=True,
    )
    chunks = first.chunks()
    async for _chunk in chunks:
        break
    await chunks.aclose()
    assert first.quality is None  # not read to its end
    again = BulkRead(
        tax.connector,
        "vat_returns",
        content,
        file_format=BulkFormat.JSON_LINES,
        consents=consents,
        parallel=True,
    )
    records, _ = await _read(again)
    assert again.quality is not None
    assert len(records) == again.quality.rows_accepted


def test_only_an_installed_connector_is_read_in_a_worker() -> None:
    content = _jsonl(_rows(1))
    copy = tax.connector.with_runtime(ConnectorRuntime())  # not what an entry point loads
    read = BulkRead(
        copy,
        "vat_returns",
        content,
        file_format=BulkFormat.JSON_LINES,
        consents=_consents(),
        parallel=True,
    )
    assert not read.parallel
    small = BulkRead(
        tax.connector,
        "vat_returns",
        content,
        file_format=BulkFormat.JSON_LINES,
        consents=_consents(),
    )
    assert not small.parallel  # a small file is not worth a worker round trip
