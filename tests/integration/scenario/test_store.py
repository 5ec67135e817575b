"""The batch write path: one data key per batch, dedupe per batch, sealed at rest (JR/T 0171)."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest
from connectors import tax
from connectors.bulk import BulkFormat, import_bulk_file
from connectors.catalog import FieldClass
from connectors.personas import PersonaProfile, persona
from connectors.records import Record
from connectors.tax.schemas import VatReturn
from connectors.testing import grant_for
from litestar import Litestar
from sqlalchemy import delete, func, select, text, update
from tests.consent_builders import random_uscc

from puhui.config import Settings
from puhui.scenario.models import ScenarioDataKey, ScenarioRecord, ScenarioRecordSchema
from puhui.scenario.repository import RecordRepository, UpsertCounts
from puhui.scenario.store import (
    field_classes,
    natural_key,
    record_data,
    store_records,
    stored_field_classes,
    time_ordered_hex,
)
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


async def test_batch_rows_hold_exactly_what_the_orm_writes(app: Litestar) -> None:
    """Timestamps and ids bound by the batch path are stored as the ORM stores them (SQLite
    keeps datetimes as text: other text would sort differently in retention's range query)."""
    prefix = f"bind-{uuid.uuid4().hex[:8]}"
    async with app.state.db.unit_of_work() as session:
        await store_records(session, _records(prefix, 1), spec=VAT, tenant_id=None)
    (batch,) = await _stored(app, prefix)
    twin = f"{batch.natural_key}-orm"
    async with app.state.db.unit_of_work() as session:
        session.add(
            ScenarioRecord(
                id=uuid.uuid4(),
                natural_key=twin,
                uscc=batch.uscc,
                data_source=batch.data_source,
                data_type=batch.data_type,
                record_key=f"{batch.record_key}-orm",
                content_hash=batch.content_hash,
                data={},
                collection_channel=batch.collection_channel,
                collection_object=batch.collection_object,
                consent_id=batch.consent_id,
                fetched_at=batch.fetched_at,
                schema_version=batch.schema_version,
                connector_version=batch.connector_version,
                origin=batch.origin,
                access=batch.access,
                volatility=batch.volatility,
                shape=batch.shape,
                retain_until=batch.retain_until,
                created_at=batch.created_at,
                updated_at=batch.updated_at,
            )
        )
    columns = "id, fetched_at, retain_until, created_at, updated_at"
    async with app.state.db.unit_of_work() as session:
        raw = {
            row.natural_key: row[1:]
            for row in await session.execute(
                text(
                    f"SELECT natural_key, {columns} FROM scenario_records "  # noqa: S608
                    "WHERE natural_key IN (:a, :b)"
                ),
                {"a": batch.natural_key, "b": twin},
            )
        }
        await session.execute(delete(ScenarioRecord).where(ScenarioRecord.natural_key == twin))
    by_batch, by_orm = raw[batch.natural_key], raw[twin]
    assert by_batch[1:] == by_orm[1:]  # timestamps: same values in the same representation
    assert type(by_batch[0]) is type(by_orm[0])  # ids: same representation
    assert len(str(by_batch[0])) == len(str(by_orm[0]))


def test_time_ordered_hex_ids_are_version_7_uuids_in_order() -> None:
    ids = time_ordered_hex(500)
    assert len(set(ids)) == 500
    parsed = [uuid.UUID(i) for i in ids]
    assert [p.hex for p in parsed] == ids  # exactly what a CHAR(32) UUID column stores
    assert {p.version for p in parsed} == {7}
    assert {p.variant for p in parsed} == {uuid.RFC_4122}
    assert len({i[:12] for i in ids}) <= 2  # one millisecond stamp (two at a tick's edge)


async def test_field_classes_are_kept_once_per_data_type_and_schema_version(
    app: Litestar,
) -> None:
    prefix = f"classes-{uuid.uuid4().hex[:8]}"
    async with app.state.db.unit_of_work() as session:
        await store_records(session, _records(prefix, 2), spec=VAT, tenant_id=None)
        assert await stored_field_classes(session, "tax.vat_returns", VAT.schema_version) == (
            field_classes(VAT)
        )
    # The catalogue reclassifies a field: the next batch records the new classes.
    reclassified = msgspec.structs.replace(
        VAT,
        fields=tuple(
            msgspec.structs.replace(f, classification=FieldClass.C3)
            if f.name == "vat_payable_fen"
            else f
            for f in VAT.fields
        ),
    )
    async with app.state.db.unit_of_work() as session:
        await store_records(session, _records(f"{prefix}-b", 2), spec=reclassified, tenant_id=None)
        stored = await stored_field_classes(session, "tax.vat_returns", VAT.schema_version)
    assert stored == field_classes(reclassified)
    assert stored is not None
    assert stored["vat_payable_fen"] == "C3"
    async with app.state.db.unit_of_work() as session:  # and back, for the other tests
        await store_records(session, _records(f"{prefix}-c", 1), spec=VAT, tenant_id=None)
        count = (
            await session.execute(
                select(func.count())
                .select_from(ScenarioRecordSchema)
                .where(ScenarioRecordSchema.data_type == "tax.vat_returns")
            )
        ).scalar_one()
    assert count == 1
