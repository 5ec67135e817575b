"""The batch write path: one data key per batch, dedupe per batch, sealed at rest (JR/T 0171)."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest
from connectors import tax
from connectors.bulk import BulkFormat, import_bulk_file
from connectors.personas import PersonaProfile, persona
from connectors.records import Record
from connectors.tax.schemas import VatReturn
from connectors.testing import grant_for
from litestar import Litestar
from sqlalchemy import select, text, update
from tests.consent_builders import random_uscc

from puhui.config import Settings
from puhui.scenario.models import ScenarioDataKey, ScenarioRecord
from puhui.scenario.repository import RecordRepository, UpsertCounts
from puhui.scenario.store import natural_key, record_data, store_records
from puhui.security.fieldcrypto import FieldDecryptionError
from puhui.security.keyring import keyring

pytestmark = pytest.mark.anyio
HEALTHY = persona(PersonaProfile.HEALTHY)
VAT = tax.connector.binding("vat_returns").spec
# A C2 value no other test stores: declared revenue of ¥9,876,543,210.12.
SECRET_FEN = 987_654_321_012
SECRET_YUAN = "9876543210.12"


def _vat_file(prefix: str, rows: int, uscc: str) -> list[str]:
    lines = []
    for i in range(rows):
        sales = SECRET_YUAN if i == 0 else f"{1000 + i}.50"
        lines.append(
            f'{{"filing_no": "{prefix}-{i}", "taxpayer_id": "{uscc}", '
            f'"period": "2024-{1 + i % 12:02d}", "sales_amount": "{sales}", '
            f'"vat_payable": "13.00", "filed_date": "2024/03/15"}}'
        )
    return lines


def _records(prefix: str, rows: int, uscc: str | None = None) -> tuple[Record, ...]:
    """VAT records of an enterprise of their own (a test corrupting one harms no other test)."""
    uscc = uscc or random_uscc()
    grant = grant_for(uscc, {"tax": frozenset({"vat_returns"})})
    imported = import_bulk_file(
        tax.connector,
        "vat_returns",
        _vat_file(prefix, rows, uscc),
        file_format=BulkFormat.JSON_LINES,
        consents={uscc: grant},
    )
    assert imported.quality.rows_accepted == rows
    return imported.records


async def _stored(app: Litestar, prefix: str) -> list[ScenarioRecord]:
    async with app.state.db.unit_of_work() as session:
        stmt = select(ScenarioRecord).where(ScenarioRecord.record_key.like(f"{prefix}-%"))
        return list((await session.execute(stmt)).scalars())


async def _keys(app: Litestar, ids: set[uuid.UUID | None]) -> list[ScenarioDataKey]:
    async with app.state.db.unit_of_work() as session:
        stmt = select(ScenarioDataKey).where(ScenarioDataKey.id.in_([i for i in ids if i]))
        return list((await session.execute(stmt)).scalars())


async def test_a_batch_is_sealed_under_one_data_key_and_reads_back(
    app: Litestar, settings: Settings
) -> None:
    prefix = f"seal-{uuid.uuid4().hex[:8]}"
    uscc = random_uscc()
    records = _records(prefix, 40, uscc)
    async with app.state.db.unit_of_work() as session:
        counts = await store_records(session, records, spec=VAT, tenant_id=None)
    assert counts == UpsertCounts(inserted=40)
    rows = await _stored(app, prefix)
    assert len(rows) == 40
    key_ids = {r.data_key_id for r in rows}
    assert len(key_ids) == 1
    assert None not in key_ids
    (data_key,) = await _keys(app, key_ids)
    assert data_key.kek_version == keyring().current  # the KEK version is recorded
    assert all(r.data is None and r.data_enc for r in rows)  # the stream has C2 fields
    assert len({r.data_enc for r in rows}) == 40
    assert {r.id.version for r in rows} == {7}  # time-ordered ids: a batch lands side by side
    decoded = {r.record_key: record_data(r, VAT) for r in rows}
    first = decoded[f"{prefix}-0"]
    assert isinstance(first, VatReturn)
    assert first.declared_revenue_fen == SECRET_FEN
    # Provenance of 6.3.2 c on every row.
    assert {(r.data_source, r.collection_channel, r.collection_object) for r in rows} == {
        ("tax", "bulk_file", uscc)
    }


async def test_the_c2_value_never_appears_in_clear_in_the_database(
    app: Litestar, settings: Settings
) -> None:
    prefix = f"clear-{uuid.uuid4().hex[:8]}"
    async with app.state.db.unit_of_work() as session:
        await store_records(session, _records(prefix, 5), spec=VAT, tenant_id=None)
    needle = str(SECRET_FEN)
    async with app.state.db.unit_of_work() as session:
        rows = (await session.execute(text("SELECT * FROM scenario_records"))).all()
    assert rows
    assert not any(needle in str(value) for row in rows for value in row)
    path = settings.sqlite_path
    if path is not None:  # the file itself (and its write-ahead log) holds no clear value
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                assert needle.encode() not in file.read_bytes()
                assert SECRET_YUAN.encode() not in file.read_bytes()


async def test_a_ciphertext_moved_to_another_row_does_not_open(app: Litestar) -> None:
    prefix = f"move-{uuid.uuid4().hex[:8]}"
    async with app.state.db.unit_of_work() as session:
        await store_records(session, _records(prefix, 2), spec=VAT, tenant_id=None)
    a, b = sorted(await _stored(app, prefix), key=lambda r: r.record_key)
    async with app.state.db.unit_of_work() as session:
        await session.execute(
            update(ScenarioRecord).where(ScenarioRecord.id == b.id).values(data_enc=a.data_enc)
        )
    moved = next(r for r in await _stored(app, prefix) if r.id == b.id)
    with pytest.raises(FieldDecryptionError):
        record_data(moved, VAT)


async def test_a_rerun_stores_nothing_twice_and_makes_no_new_key(app: Litestar) -> None:
    prefix = f"dedupe-{uuid.uuid4().hex[:8]}"
    records = _records(prefix, 30)
    async with app.state.db.unit_of_work() as session:
        await store_records(session, records, spec=VAT, tenant_id=None)
    async with app.state.db.unit_of_work() as session:
        keys_before = len((await session.execute(select(ScenarioDataKey.id))).all())
        again = await store_records(session, records + records[:5], spec=VAT, tenant_id=None)
        keys_after = len((await session.execute(select(ScenarioDataKey.id))).all())
    assert again == UpsertCounts(unchanged=30)
    assert keys_after == keys_before
    assert len(await _stored(app, prefix)) == 30


async def test_changed_content_is_rewritten_under_the_new_batch_key(app: Litestar) -> None:
    prefix = f"change-{uuid.uuid4().hex[:8]}"
    records = _records(prefix, 3)
    async with app.state.db.unit_of_work() as session:
        await store_records(session, records, spec=VAT, tenant_id=None)
    before = {r.record_key: r.data_key_id for r in await _stored(app, prefix)}
    corrected = msgspec.structs.replace(
        records[1],
        data=msgspec.structs.replace(records[1].data, vat_payable_fen=4242),
        content_hash="0" * 64,
    )
    async with app.state.db.unit_of_work() as session:
        counts = await store_records(session, [corrected], spec=VAT, tenant_id=None)
    assert counts == UpsertCounts(updated=1)
    after = {r.record_key: r for r in await _stored(app, prefix)}
    row = after[records[1].key]
    assert row.data_key_id != before[records[1].key]
    data = record_data(row, VAT)
    assert isinstance(data, VatReturn)
    assert data.vat_payable_fen == 4242


async def test_keys_no_record_uses_are_destroyed(app: Litestar) -> None:
    prefix = f"shred-{uuid.uuid4().hex[:8]}"
    async with app.state.db.unit_of_work() as session:
        await store_records(session, _records(prefix, 3), spec=VAT, tenant_id=None)
    rows = await _stored(app, prefix)
    key_ids = {r.data_key_id for r in rows}
    async with app.state.db.unit_of_work() as session:
        repo = RecordRepository(session)
        await repo.destroy(r.id for r in rows)
        assert await repo.forget_unused_keys() >= 1
    assert await _keys(app, key_ids) == []


def test_natural_keys_join_type_subject_and_key() -> None:
    assert natural_key("tax.vat_returns", HEALTHY.uscc, "F-1") == (
        f"tax.vat_returns|{HEALTHY.uscc}|F-1"
    )
