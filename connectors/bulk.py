"""Bulk-file mode (JR/T 0269 7.3.2 c): CSV or JSON-lines through the same normalisers as pulls."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgspec

from connectors.consent import ConsentGrant
from connectors.quality import QualityReport
from connectors.records import Record
from connectors.scenario import ScenarioConnector
from connectors.spec import ConnectionMode
from puhui.clock import utcnow

__all__ = ["BulkFormat", "BulkImport", "import_bulk_file"]

_JSON_ROW = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)


class BulkFormat(StrEnum):
    CSV = "csv"
    JSON_LINES = "jsonl"


class BulkImport(msgspec.Struct, frozen=True, kw_only=True):
    """The records a file yielded and its quality report (rows without consent are rejected)."""

    stream: str
    records: tuple[Record, ...]
    quality: QualityReport


def _csv_rows(text: Iterable[str]) -> Iterator[dict[str, object]]:
    for row in csv.DictReader(text):
        yield {k: (v if v != "" else None) for k, v in row.items() if k is not None}


def _jsonl_rows(lines: Iterable[str]) -> Iterator[dict[str, object]]:
    for line in lines:
        if not line.strip():
            continue
        try:
            yield _JSON_ROW.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            yield {}  # an unreadable line counts as a row with every field missing


def import_bulk_file(
    connector: ScenarioConnector[Any],
    stream: str,
    content: str | Iterable[str],
    *,
    file_format: BulkFormat,
    consents: Mapping[str, ConsentGrant],
) -> BulkImport:
    """Normalise a partner's file for ``stream``; each row needs a consent for its USCC."""
    lines: Iterable[str] = io.StringIO(content) if isinstance(content, str) else content
    raw = _csv_rows(lines) if file_format is BulkFormat.CSV else _jsonl_rows(lines)
    pipeline = connector.pipeline(stream, ConnectionMode.BULK_FILE)
    source = connector.spec().name
    needed = pipeline.binding.spec.data_items
    now = utcnow()
    # JR/T 0269 6.3.2 e: a row is kept only under a live consent covering the stream.
    held_under = {
        uscc: grant.consent_id
        for uscc, grant in consents.items()
        if now < grant.valid_until and grant.permits(source, needed)
    }
    records = tuple(
        pipeline.process(
            raw, consent_id="", fetched_at=now, expected_uscc=None, consent_for=held_under.get
        )
    )
    return BulkImport(stream=stream, records=records, quality=pipeline.report())
