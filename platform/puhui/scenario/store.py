"""Records in and out of the canonical store: provenance columns and the sealed payload.

The write path is built for batches (a sync checkpoint, a push, a bulk file of 100,000 rows):

* **One data key per batch.** A stored batch gets a fresh 256-bit DEK, wrapped by the field
  keyring's current KEK and kept in ``scenario_data_keys`` with the KEK version. Every record of
  the batch whose stream holds C2/C3 fields is sealed with AES-256-GCM under that DEK, with its
  own nonce (a per-batch counter: a DEK never sees the same nonce twice) and its natural key as
  associated data, so a ciphertext moved to another row fails to open (JR/T 0171 C2/C3).
* **One dedupe lookup per batch**: the stored content hash and consent of every key in the
  batch come back in one ``IN`` query (:meth:`RecordRepository.current_versions`).
* **One multi-row insert per batch**: positional rows straight to the driver's ``executemany``
  with ``ON CONFLICT (natural_key) DO NOTHING`` — no ORM object, no per-row statement. Values
  go through the columns' own (dialect) bind processors, memoised for the values a batch
  repeats (timestamps, tenant, key id), so SQLite and PostgreSQL store exactly what the ORM
  would.
* **Field classes once per stream**: the data-element classes (JR/T 0269 6.2.2) of a stream's
  fields are a property of its schema, kept in ``scenario_record_schemas`` per data type and
  schema version (written with each batch, rewritten if the catalogue reclassifies a field)
  instead of as a JSON document on every record.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, cast

import msgspec
from connectors.catalog import StreamSpec
from connectors.records import Provenance, Record
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.scenario.models import ScenarioDataKey, ScenarioRecord, ScenarioRecordSchema
from puhui.scenario.repository import RecordRepository, UpsertCounts
from puhui.scenario.retention import retain_until
from puhui.security.fieldcrypto import FieldDecryptionError, field_aad
from puhui.security.keyring import keyring

__all__ = [
    "BatchSealer",
    "RecordOpener",
    "field_classes",
    "natural_key",
    "record_data",
    "store_records",
    "stored_field_classes",
]

_ENCODER = msgspec.json.Encoder()
_SEALED_CLASSES: Final = frozenset({"C2", "C3"})
_SEALED_PREFIX: Final = "b1:"  # a value sealed under a batch DEK (format version 1)
_NONCE_BYTES: Final = 12
_TABLE = cast(Table, ScenarioRecord.__table__)
_SCHEMAS = cast(Table, ScenarioRecordSchema.__table__)
# The insert's columns in the table's order (the order compiled placeholders take), so a row
# tuple goes to the driver as built: :meth:`_BatchRows.insert_row` builds it in this order.
_COLUMNS: Final = (
    "natural_key",
    "uscc",
    "data_source",
    "data_type",
    "record_key",
    "content_hash",
    "data",
    "data_enc",
    "data_key_id",
    "collection_channel",
    "collection_object",
    "consent_id",
    "fetched_at",
    "snapshot_taken_at",
    "schema_version",
    "connector_version",
    "origin",
    "access",
    "volatility",
    "shape",
    "collected_by_tenant_id",
    "retain_until",
    "id",
    "created_at",
    "updated_at",
)
_UPDATABLE: Final = (
    "content_hash",
    "data",
    "data_enc",
    "data_key_id",
    "collection_channel",
    "consent_id",
    "fetched_at",
    "snapshot_taken_at",
    "schema_version",
    "connector_version",
    "collected_by_tenant_id",
    "retain_until",
    "updated_at",
)
_CHUNK: Final = 5000  # keys per dedupe lookup / rows per executemany


def natural_key(data_type: str, uscc: str, key: str) -> str:
    return f"{data_type}|{uscc}|{key}"


def _aad(key: str) -> bytes:
    return field_aad("scenario_records", "data", key)


_AAD_PREFIX: Final = _aad("")  # _aad(key) == _AAD_PREFIX + key.encode()
_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")


def _dek_aad(key_id: uuid.UUID) -> bytes:
    return field_aad("scenario_data_keys", "wrapped_dek", key_id)


def field_classes(spec: StreamSpec) -> dict[str, str]:
    return {f.name: str(f.classification) for f in spec.fields}


def is_sealed(spec: StreamSpec) -> bool:
    """A stream's records are sealed at rest when any of its fields is C2 or C3."""
    return any(str(f.classification) in _SEALED_CLASSES for f in spec.fields)


# --------------------------------------------------------------------------- envelope per batch


class BatchSealer:
    """Seals the records of one batch under one fresh DEK (AES-256-GCM, counter nonces)."""

    def __init__(self, key_id: uuid.UUID, dek: bytes) -> None:
        self.key_id = key_id
        self._aead = AESGCM(dek)
        self._sealed = 0

    @classmethod
    async def create(cls, session: AsyncSession) -> BatchSealer:
        """A new DEK, stored wrapped under the keyring's current KEK with its version."""
        ring = keyring()
        key_id = uuid.uuid4()
        dek = AESGCM.generate_key(bit_length=256)
        now = utcnow()
        await session.execute(
            insert(ScenarioDataKey).values(
                id=key_id,
                kek_version=ring.current,
                wrapped_dek=ring.encrypt(dek, _dek_aad(key_id)),
                created_at=now,
                updated_at=now,
            )
        )
        return cls(key_id, dek)

    def seal(self, payload: bytes, key: str) -> str:
        self._sealed += 1
        nonce = self._sealed.to_bytes(_NONCE_BYTES, "big")
        sealed = self._aead.encrypt(nonce, payload, _AAD_PREFIX + key.encode())
        # urlsafe base64 without padding (base64.urlsafe_b64encode, one call layer less)
        text = binascii.b2a_base64(nonce + sealed, newline=False).translate(_URLSAFE)
        return _SEALED_PREFIX + text.rstrip(b"=").decode()


@lru_cache(maxsize=256)
def _batch_aead(key_id: uuid.UUID, wrapped_dek: str) -> AESGCM:
    """A batch DEK unwrapped once per process (a feature refresh opens many of its records)."""
    return AESGCM(keyring().decrypt(wrapped_dek, _dek_aad(key_id)))


def record_data(row: ScenarioRecord, spec: StreamSpec) -> msgspec.Struct:
    """The stored record decoded back into its stream's record type."""
    if row.data_enc is None:
        converted: msgspec.Struct = msgspec.convert(row.data, type=spec.record_type)
        return converted
    if row.data_key_id is None:  # sealed value by value (rows stored before batch keys)
        raw = keyring().decrypt(row.data_enc, _aad(row.natural_key))
    else:
        raw = _open_sealed(row.data_key, row.data_enc, row.natural_key)
    decoded: msgspec.Struct = msgspec.json.decode(raw, type=spec.record_type)
    return decoded


class RecordOpener:
    """Decodes a batch of stored records (the async form of :func:`record_data`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(
        self, rows: Sequence[ScenarioRecord], spec_of: Callable[[ScenarioRecord], StreamSpec]
    ) -> list[msgspec.Struct]:
        """Each row's data decoded into its stream's record type; each batch DEK unwrapped once."""
        return [record_data(row, spec_of(row)) for row in rows]


def _open_sealed(data_key: ScenarioDataKey | None, token: str, key: str) -> bytes:
    if data_key is None:
        raise FieldDecryptionError("the record's data key is gone (destroyed or unknown)")
    if not token.startswith(_SEALED_PREFIX):
        raise FieldDecryptionError("not a batch-sealed value")
    body = token[len(_SEALED_PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        aead = _batch_aead(data_key.id, data_key.wrapped_dek)
        return aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(key))
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise FieldDecryptionError("sealed record failed authentication") from exc


# --------------------------------------------------------------------------- the batch writer


class _Binder:
    """Column values as the driver wants them, via each column's own bind processor.

    The processor is the dialect's implementation's (``dialect_impl``): a decorated type such
    as ``UtcDateTime`` otherwise skips its impl's dialect processing (SQLite's datetime format).
    """

    def __init__(self, dialect: Dialect) -> None:
        self._procs: dict[str, Callable[[Any], Any] | None] = {
            name: _TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _COLUMNS
        }
        self._memo: dict[tuple[str, Hashable], Any] = {}
        id_type = _TABLE.c["id"].type
        # A non-native UUID column stores 32 lowercase hex digits (SQLite's CHAR(32)).
        self.hex_ids = not (getattr(id_type, "native_uuid", False) and dialect.supports_native_uuid)

    def ids(self, count: int) -> list[Any]:
        """``count`` fresh time-ordered primary keys, bound."""
        if self.hex_ids:
            return time_ordered_hex(count)
        return [self("id", i) for i in time_ordered_ids(count)]

    def __call__(self, column: str, value: Any) -> Any:
        proc = self._procs[column]
        return value if proc is None or value is None else proc(value)

    def memo(self, column: str, value: Hashable) -> Any:
        """For values a batch repeats: processed once."""
        key = (column, value)
        try:
            return self._memo[key]
        except KeyError:
            processed = self._memo[key] = self(column, value)
            return processed


_INSERTS: dict[tuple[str, str], tuple[str, tuple[int, ...] | None]] = {}


def _insert(dialect: Dialect) -> tuple[str, tuple[int, ...] | None]:
    key = (dialect.name, dialect.paramstyle)
    found = _INSERTS.get(key)
    if found is None:
        found = _INSERTS[key] = _compile_insert(dialect)
    return found


def _compile_insert(dialect: Dialect) -> tuple[str, tuple[int, ...] | None]:
    """The dialect's ``INSERT ... ON CONFLICT (natural_key) DO NOTHING`` for every column, and
    for positional drivers the order of ``_COLUMNS`` values its placeholders take."""
    if dialect.name == "postgresql":
        stmt: Any = pg_insert(_TABLE).on_conflict_do_nothing(index_elements=["natural_key"])
    elif dialect.name == "sqlite":
        stmt = sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=["natural_key"])
    else:
        raise RuntimeError(f"no idempotent bulk insert for {dialect.name}")
    compiled = stmt.compile(dialect=dialect, column_keys=list(_COLUMNS))
    if not compiled.positional:
        return str(compiled), None
    order = tuple(_COLUMNS.index(name) for name in compiled.positiontup or ())
    return str(compiled), order


def time_ordered_ids(count: int) -> list[uuid.UUID]:
    """``count`` UUIDv7-layout ids (48-bit ms timestamp, 74 random bits): a batch's rows land
    side by side in the primary-key index instead of at random places (cheaper bulk inserts)."""
    stamp = (time.time_ns() // 1_000_000) << 80
    random = os.urandom(10 * count)
    out = []
    for i in range(count):
        bits = stamp | int.from_bytes(random[10 * i : 10 * i + 10], "big")
        bits = (bits & ~(0xF << 76)) | (0x7 << 76)  # version 7
        bits = (bits & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
        out.append(uuid.UUID(int=bits))
    return out


_VARIANT_NIBBLE: Final = "89ab89ab89ab89ab"  # RFC 9562 variant: the nibble's top bits are 10


def time_ordered_hex(count: int) -> list[str]:
    """The same layout as :func:`time_ordered_ids`, as the 32 hex digits a non-native UUID
    column stores (``uuid.UUID(...).hex``), built without a UUID object per id."""
    stamp = f"{(time.time_ns() // 1_000_000) & 0xFFFFFFFFFFFF:012x}7"
    digits = os.urandom(10 * count).hex()
    out = []
    for i in range(0, 20 * count, 20):
        r = digits[i : i + 20]
        out.append(f"{stamp}{r[1:4]}{_VARIANT_NIBBLE[int(r[4], 16)]}{r[5:20]}")
    return out


class _BatchRows:
    """Turns a batch's records into insert tuples and update parameters."""

    def __init__(
        self,
        binder: _Binder,
        spec: StreamSpec,
        tenant_id: uuid.UUID | None,
        sealer: BatchSealer | None,
    ) -> None:
        self.binder = binder
        self.sealer = sealer
        self.now = utcnow()
        self.tenant_bound = binder.memo("collected_by_tenant_id", tenant_id)
        self.now_bound = binder.memo("created_at", self.now)
        self.key_bound = None if sealer is None else binder.memo("data_key_id", sealer.key_id)
        self._retain: dict[tuple[str, datetime], Any] = {}
        # Bound provenance columns per provenance object: a batch's records share a handful.
        # Keyed by identity; the records (and so their provenances) outlive the batch.
        self._provenance: dict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}

    def _retain_until(self, source: str, fetched_at: datetime) -> Any:
        found = self._retain.get((source, fetched_at))
        if found is None:
            value = retain_until(source, fetched_at)
            found = self._retain[(source, fetched_at)] = self.binder.memo("retain_until", value)
        return found

    def _bound(self, p: Provenance) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The provenance's columns before ``record_key`` and after ``data_key_id``, bound."""
        found = self._provenance.get(id(p))
        if found is None:
            b = self.binder
            snapshot = p.snapshot_taken_at
            found = self._provenance[id(p)] = (
                (p.collection_object, p.data_source, p.data_type),
                (
                    str(p.collection_channel),
                    p.collection_object,
                    p.consent_id,
                    b.memo("fetched_at", p.fetched_at),
                    None if snapshot is None else b.memo("snapshot_taken_at", snapshot),
                    p.schema_version,
                    p.connector_version,
                    str(p.origin),
                    str(p.access),
                    str(p.volatility),
                    str(p.shape),
                    self.tenant_bound,
                    self._retain_until(p.data_source, p.fetched_at),
                ),
            )
        return found

    def payload(self, record: Record, key: str) -> tuple[Any, str | None]:
        encoded = _ENCODER.encode(record.data)
        if self.sealer is not None:
            return None, self.sealer.seal(encoded, key)
        return self.binder("data", msgspec.json.decode(encoded)), None

    def insert_row(self, row_id: Any, key: str, record: Record) -> tuple[Any, ...]:
        """The record's values in ``_COLUMNS`` order; ``row_id`` already bound."""
        head, tail = self._bound(record.provenance)
        data, sealed = self.payload(record, key)
        return (
            key,
            *head,
            record.key,
            record.content_hash,
            data,
            sealed,
            self.key_bound,
            *tail,
            row_id,
            self.now_bound,
            self.now_bound,
        )

    def update_params(
        self, key: str, record: Record, tenant_id: uuid.UUID | None
    ) -> dict[str, Any]:
        """Parameters of the (rare) rewrite of a stored record; bound by SQLAlchemy."""
        p = record.provenance
        encoded = _ENCODER.encode(record.data)
        sealed = None if self.sealer is None else self.sealer.seal(encoded, key)
        values = {
            "content_hash": record.content_hash,
            "data": None if sealed is not None else msgspec.json.decode(encoded),
            "data_enc": sealed,
            "data_key_id": None if self.sealer is None else self.sealer.key_id,
            "collection_channel": str(p.collection_channel),
            "consent_id": p.consent_id,
            "fetched_at": p.fetched_at,
            "snapshot_taken_at": p.snapshot_taken_at,
            "schema_version": p.schema_version,
            "connector_version": p.connector_version,
            "collected_by_tenant_id": tenant_id,
            "retain_until": retain_until(p.data_source, p.fetched_at),
            "updated_at": self.now,
        }
        return {"b_natural_key": key} | {"b_" + c: values[c] for c in _UPDATABLE}


async def _register_schema(
    session: AsyncSession, dialect: Dialect, data_type: str, spec: StreamSpec
) -> None:
    """Record the stream's field classes for its data type and schema version (one statement;
    a reclassified field rewrites them, an unchanged catalogue leaves the row alone)."""
    classes = field_classes(spec)
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "data_type": data_type,
        "schema_version": spec.schema_version,
        "field_classes": classes,
        "created_at": now,
        "updated_at": now,
    }
    if dialect.name == "postgresql":
        stmt: Any = pg_insert(_SCHEMAS).values(values)
    elif dialect.name == "sqlite":
        stmt = sqlite_insert(_SCHEMAS).values(values)
    else:
        raise RuntimeError(f"no idempotent upsert for {dialect.name}")
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["data_type", "schema_version"],
            set_={"field_classes": stmt.excluded.field_classes, "updated_at": now},
            where=_SCHEMAS.c.field_classes != stmt.excluded.field_classes,
        )
    )


async def stored_field_classes(
    session: AsyncSession, data_type: str, schema_version: int
) -> dict[str, str] | None:
    """The field classes records of ``data_type`` at ``schema_version`` were stored with."""
    stmt = select(ScenarioRecordSchema.field_classes).where(
        ScenarioRecordSchema.data_type == data_type,
        ScenarioRecordSchema.schema_version == schema_version,
    )
    found: dict[str, str] | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def store_records(
    session: AsyncSession,
    records: Sequence[Record],
    *,
    spec: StreamSpec,
    tenant_id: uuid.UUID | None,
) -> UpsertCounts:
    """Store one stream's records idempotently: insert new keys, rewrite changed content.

    Identical content fetched under another consent keeps its data but takes the new consent
    as its provenance (the basis it is now held on). The last record of a key wins.
    """
    latest: dict[str, Record] = {}
    for record in records:
        p = record.provenance
        latest[natural_key(p.data_type, p.collection_object, record.key)] = record
    if not latest:
        return UpsertCounts()
    repo = RecordRepository(session)
    keys = list(latest)
    existing: dict[str, tuple[str, str]] = {}
    for start in range(0, len(keys), _CHUNK):
        existing |= await repo.current_versions(keys[start : start + _CHUNK])
    fresh = [k for k in keys if k not in existing]
    rewrite = [
        k
        for k in keys
        if k in existing
        and existing[k] != (latest[k].content_hash, latest[k].provenance.consent_id)
    ]
    changed = sum(1 for k in rewrite if existing[k][0] != latest[k].content_hash)
    counts = UpsertCounts(
        inserted=len(fresh), updated=changed, unchanged=len(keys) - len(fresh) - changed
    )
    if not fresh and not rewrite:
        return counts
    connection = await session.connection()
    dialect = connection.dialect
    await _register_schema(session, dialect, latest[keys[0]].provenance.data_type, spec)
    sealer = await BatchSealer.create(session) if is_sealed(spec) else None
    binder = _Binder(dialect)
    rows = _BatchRows(binder, spec, tenant_id, sealer)
    if fresh:
        sql, order = _insert(dialect)
        ids = binder.ids(len(fresh))
        for start in range(0, len(fresh), _CHUNK):
            chunk = fresh[start : start + _CHUNK]
            values = [rows.insert_row(ids[start + i], k, latest[k]) for i, k in enumerate(chunk)]
            params: list[Any] = (
                [dict(zip(_COLUMNS, v, strict=True)) for v in values]
                if order is None
                else values
                if order == tuple(range(len(_COLUMNS)))
                else [tuple(v[i] for i in order) for v in values]
            )
            await connection.exec_driver_sql(sql, params)
    if rewrite:
        stmt = (
            update(_TABLE)
            .where(_TABLE.c.natural_key == bindparam("b_natural_key"))
            .values({c: bindparam("b_" + c) for c in _UPDATABLE})
        )
        await session.execute(stmt, [rows.update_params(k, latest[k], tenant_id) for k in rewrite])
    return counts
