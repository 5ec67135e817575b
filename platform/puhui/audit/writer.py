"""Group commit for audit records: many requests' records, one transaction, one chain writer.

Requests `submit` a record and await its future; a background task takes whatever queued up
(up to `batch_size`, waiting at most `flush_ms` for companions when idle), locks the day's chain
head (an UPDATE, so concurrent workers serialise on it in SQLite and PostgreSQL alike), seals the
batch with `puhui.security.auditchain.seal`, inserts it and moves the head, then resolves the
futures. While one batch commits, the next one gathers, so batches grow with the load.

The transaction never runs on the event loop: with PostgreSQL it runs on asyncpg (awaited, the
loop stays free); with SQLite on a dedicated writer thread holding its own connection
(`BEGIN IMMEDIATE`, `synchronous=FULL`, so a commit is on disk, not only in the OS cache), where
waiting for another worker process's write lock blocks that thread, not the API. The writers of
all worker processes take turns on an OS file lock first, so the next one starts the moment the
previous commit ends instead of polling in SQLite's busy handler. The batch goes
in as one multi-row INSERT: the sqlite3 module releases the GIL around every step, and each
release can cost the thread a GIL hand-off while the loop is busy, so steps are kept few and the
process's switch interval is lowered to 1 ms when the thread starts (`WRITER_SWITCH_INTERVAL`).

Domain events written by `record_event` in a caller's unit of work arrive unsealed (day NULL);
the writer seals them in order on its next flush (notified after their commit, or by the periodic
sweep for events committed by other processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import IO, Any, Final, cast

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own busy handler alone
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    String,
    Table,
    Uuid,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from puhui.audit.chain import CHAINED_COLUMNS, ChainRecord, chain_record
from puhui.audit.models import AuditDayHead, AuditRecord
from puhui.clock import utcnow
from puhui.db.base import UtcDateTime
from puhui.security.auditchain import ChainCursor, ChainEntry, canonical, genesis_hash

__all__ = ["PENDING_KEY", "AuditWriteFailed", "AuditWriter"]

log = logging.getLogger(__name__)

PENDING_KEY: Final = "puhui.audit_pending"
_records = cast("Table", AuditRecord.__table__)
_heads = cast("Table", AuditDayHead.__table__)
_writers: weakref.WeakSet[AuditWriter] = weakref.WeakSet()


class AuditWriteFailed(RuntimeError):
    """The batch holding this record could not be committed; the call must not look successful."""


class AuditWriter:
    """One per process. `submit()` returns a future resolved once the record is committed."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_size: int = 256,
        flush_ms: float = 2.0,
        sweep_seconds: float = 2.0,
    ) -> None:
        self._engine = engine
        self._sqlite = _sqlite_engine(engine)
        self._turn = _WritersTurn(self._sqlite) if self._sqlite is not None else None
        self._thread: ThreadPoolExecutor | None = None
        self._embedded_conn: Connection | None = None
        self._batch_size = batch_size
        self._flush_seconds = flush_ms / 1000
        self._sweep_seconds = sweep_seconds
        self._buffer: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsealed = True  # rows committed before this process started are sealed first
        self._closing = False
        _writers.add(self)

    # ----------------------------------------------------------------- producer side
    def submit(self, values: Mapping[str, Any]) -> asyncio.Future[None]:
        """Queue one record (column values of `audit_records`); await the result to be durable."""
        loop = asyncio.get_running_loop()
        self._ensure_running(loop)
        future: asyncio.Future[None] = loop.create_future()
        row = dict(values)
        row.setdefault("details", {})  # the id, if missing, is drawn when the row is sealed
        self._buffer.append((row, future))
        if self._wake is not None:
            self._wake.set()
        return future

    async def write(self, values: Mapping[str, Any]) -> None:
        await self.submit(values)

    def notify_unsealed(self) -> None:
        """Rows were committed by `record_event`; seal them on the next flush."""
        self._unsealed = True
        if self._wake is not None:
            self._wake.set()

    async def seal_pending(self) -> None:
        """Seal every unsealed row now (CLI and tests; the background task does this itself)."""
        while await self._flush([], sweep=True):
            pass

    # ----------------------------------------------------------------- lifecycle
    def _ensure_running(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._closing = False
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="puhui-audit-writer")

    async def start(self) -> None:
        self._ensure_running(asyncio.get_running_loop())

    async def close(self) -> None:
        """Commit what is queued, then stop (and release the writer thread's connection)."""
        task = self._task
        if task is not None and not task.done():
            self._closing = True
            if self._wake is not None:
                self._wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        if self._thread is not None:
            loop = asyncio.get_running_loop()
            if self._embedded_conn is not None:
                await loop.run_in_executor(self._thread, self._embedded_conn.close)
                self._embedded_conn = None
            if self._turn is not None:
                await loop.run_in_executor(self._thread, self._turn.close)
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._sqlite is not None:
            self._sqlite.dispose()

    async def _run(self) -> None:
        wake = self._wake or asyncio.Event()
        while True:
            if not self._buffer and not self._closing:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=self._sweep_seconds)
                except TimeoutError:
                    self._unsealed = True  # events committed by other processes
                if self._flush_seconds and 0 < len(self._buffer) < self._batch_size:
                    await asyncio.sleep(self._flush_seconds)  # let companions join the batch
            wake.clear()
            batch = self._buffer[: self._batch_size]
            del self._buffer[: self._batch_size]
            sweep = self._unsealed
            self._unsealed = False
            if batch or sweep:
                await self._commit(batch, sweep)
            if self._closing and not self._buffer:
                return

    async def _commit(
        self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]], sweep: bool
    ) -> None:
        try:
            more = await self._flush([row for row, _ in batch], sweep=sweep)
        except Exception as exc:
            log.exception("audit batch failed; %d calls are refused", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(AuditWriteFailed("audit record not committed"))
            self._unsealed = self._unsealed or sweep
            if isinstance(exc, DBAPIError) and not self._closing:
                await asyncio.sleep(0.05)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        self._unsealed = self._unsealed or more

    # ----------------------------------------------------------------- the transaction
    async def _flush(self, rows: list[dict[str, Any]], *, sweep: bool) -> bool:
        """Seal and commit `rows` (and up to a batch of unsealed rows); True if more wait."""
        for attempt in (1, 2):
            try:
                if self._sqlite is not None:
                    # Embedded mode: the writer thread; the loop goes on serving calls.
                    if self._thread is None:
                        self._thread = _writer_thread()
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(
                        self._thread, self._flush_embedded, rows, sweep
                    )
                async with self._engine.begin() as conn:
                    return await conn.run_sync(self._seal, rows, sweep)
            except IntegrityError:
                if attempt == 2:
                    raise
                # another worker created today's head row first: retry against it
        return False

    def _flush_embedded(self, rows: list[dict[str, Any]], sweep: bool) -> bool:
        """On the writer thread, which keeps one connection (no pool round per flush)."""
        assert self._sqlite is not None  # noqa: S101 - only called in embedded mode
        assert self._turn is not None  # noqa: S101
        conn = self._embedded_conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._embedded_conn = self._sqlite.connect()
        try:
            with self._turn(), conn.begin():  # BEGIN IMMEDIATE (_sqlite_engine)
                return self._seal(conn, rows, sweep)
        except DBAPIError:
            conn.close()  # start afresh next time
            self._embedded_conn = None
            raise

    def _seal(self, conn: Connection, rows: list[dict[str, Any]], sweep: bool) -> bool:
        """One transaction: lock the day head, seal pending and new rows in order, move the head."""
        if not rows and not sweep:
            return False
        now = utcnow()
        day = now.date()
        heads = _EMBEDDED if conn.dialect.name == "sqlite" else _CORE
        # lock() serialises every writer before anything is read
        chain = ChainCursor(day, heads.lock(conn, day, now))
        unsealed: list[dict[str, Any]] = []
        if sweep:
            result = conn.execute(
                select(_records)
                .where(_records.c.day.is_(None))
                .order_by(_records.c.occurred_at, _records.c.id)
                .limit(self._batch_size)
            )
            unsealed = [dict(r._mapping) for r in result]
        updates: list[dict[str, Any]] = []
        for row in unsealed:
            seq, digest = _append(chain, row)
            updates.append({"b_id": row["id"], "b_seq": seq, "b_hash": digest})
        if updates:
            conn.execute(
                update(_records)
                .where(_records.c.id == bindparam("b_id"))
                .values(day=day, seq=bindparam("b_seq"), chain_hash=bindparam("b_hash")),
                updates,
            )
        if rows:
            heads.insert_records(conn, rows, chain, now)
        if chain.seq == 0:  # nothing sealed today yet (the head row was only created)
            return False
        heads.move(conn, day, chain.seq, chain.hash, now)
        return len(unsealed) == self._batch_size


def _append(chain: ChainCursor, row: Mapping[str, Any]) -> tuple[int, str]:
    """Seal `row` as the chain's next record: its seq and link hash (as `seal` would)."""
    seq = chain.seq + 1
    return seq, chain.push(chain_record(row, chain.day, seq))


def _seal_generic(row: dict[str, Any], chain: ChainCursor, now: datetime) -> None:
    """Seal one row for insertion, setting its chain columns and defaults (any database)."""
    if "id" not in row:
        row["id"] = uuid.UUID(bytes=_time_ordered_id(os.urandom(10)))
    seq, digest = _append(chain, row)
    row.update(day=chain.date, seq=seq, chain_hash=digest)
    row.setdefault("created_at", now)
    row.setdefault("updated_at", now)


# Longest the writer thread waits for the GIL while the loop is busy, after each sqlite3 step
# (CPython's default is 5 ms: a handful of steps per flush would add tens of ms to every batch).
WRITER_SWITCH_INTERVAL: Final = 0.001


def _writer_thread() -> ThreadPoolExecutor:
    if sys.getswitchinterval() > WRITER_SWITCH_INTERVAL:
        sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    return ThreadPoolExecutor(1, thread_name_prefix="puhui-audit")


def _head_entry(conn: Connection, day: date, now: datetime, head: Any) -> ChainEntry | None:
    """The chain's last entry from the locked head row; create the row on the day's first flush."""
    if head is None:
        conn.execute(
            insert(_heads).values(
                id=uuid.uuid4(),
                day=day,
                last_seq=0,
                head_hash=genesis_hash(day),
                created_at=now,
                updated_at=now,
            )
        )
        return None
    last_seq, head_hash = head
    if last_seq == 0:
        return None
    return ChainEntry({"day": day.isoformat(), "seq": last_seq}, head_hash)


class _HeadStatements:
    """The statements of every flush, in SQLAlchemy Core (any database; asyncpg pipelines the
    executemany of the batch)."""

    def lock(self, conn: Connection, day: date, now: datetime) -> ChainEntry | None:
        """Take the day's head under a write lock (an UPDATE: every writer waits here)."""
        head = conn.execute(
            update(_heads)
            .where(_heads.c.day == day)
            .values(updated_at=now)
            .returning(_heads.c.last_seq, _heads.c.head_hash)
        ).first()
        return _head_entry(conn, day, now, head)

    def insert_records(
        self, conn: Connection, rows: list[dict[str, Any]], chain: ChainCursor, now: datetime
    ) -> None:
        """Seal `rows` onto `chain`, in order, and insert them."""
        for row in rows:
            _seal_generic(row, chain, now)
        conn.execute(insert(_records), rows)

    def move(self, conn: Connection, day: date, seq: int, head_hash: str, now: datetime) -> None:
        conn.execute(
            update(_heads)
            .where(_heads.c.day == day)
            .values(last_seq=seq, head_hash=head_hash, updated_at=now)
        )


class _EmbeddedHeadStatements(_HeadStatements):
    """The same on SQLite as plain DB-API calls in SQLAlchemy's transaction: the batch is one
    multi-row INSERT, so a flush is a handful of sqlite3 steps (each one a GIL release)."""

    _LOCK: Final = (
        "UPDATE audit_day_heads SET updated_at = ? WHERE day = ? RETURNING last_seq, head_hash"
    )
    _MOVE: Final = (
        "UPDATE audit_day_heads SET last_seq = ?, head_hash = ?, updated_at = ? WHERE day = ?"
    )

    def __init__(self) -> None:
        self._insert_sql: dict[int, str] = {}

    def lock(self, conn: Connection, day: date, now: datetime) -> ChainEntry | None:
        cursor = _driver(conn).execute(self._LOCK, (sqlite_datetime(now), day.isoformat()))
        head = cursor.fetchone()
        cursor.close()
        return _head_entry(conn, day, now, head)

    def insert_records(
        self, conn: Connection, rows: list[dict[str, Any]], chain: ChainCursor, now: datetime
    ) -> None:
        driver = _driver(conn)
        binder = _SqliteBinder(chain, now)
        per_statement = _SQLITE_MAX_VARIABLES // len(_SQLITE_BINDERS)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = self._insert_sql.get(len(chunk))
            if sql is None:
                sql = self._insert_sql[len(chunk)] = _multi_row_insert(len(chunk))
            params: list[Any] = []
            for row in chunk:
                binder.bind(row, params)
            driver.execute(sql, params).close()

    def move(self, conn: Connection, day: date, seq: int, head_hash: str, now: datetime) -> None:
        params = (seq, head_hash, sqlite_datetime(now), day.isoformat())
        _driver(conn).execute(self._MOVE, params).close()


def _driver(conn: Connection) -> Any:
    """The pysqlite connection under SQLAlchemy's, inside the same transaction."""
    return conn.connection.driver_connection


def sqlite_datetime(value: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite (`UtcDateTime` on `DateTime`)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _uuid_hex(value: uuid.UUID) -> str:
    return value.hex  # SQLAlchemy's Uuid on SQLite: 32 hex digits


def _sqlite_binder(column: Column[Any]) -> Callable[[Any], Any] | None:
    """A column's SQLite value as SQLAlchemy would bind it (checked against SQLAlchemy's own
    bind processors by tests/unit/security/test_audit_writer.py)."""
    kind = column.type
    if isinstance(kind, Uuid):
        return _uuid_hex
    if isinstance(kind, UtcDateTime):
        return sqlite_datetime
    if isinstance(kind, Date):
        return date.isoformat
    if isinstance(kind, JSON):
        return json.dumps
    if isinstance(kind, String | Integer):
        return None
    raise TypeError(f"no SQLite binder for {column.name}: {kind!r}")


_SQLITE_MAX_VARIABLES: Final = 32_766  # SQLite >= 3.32
_SQLITE_BINDERS: Final = tuple((column.name, _sqlite_binder(column)) for column in _records.columns)


class _SqliteBinder:
    """Seals rows onto a chain and appends their INSERT parameters, as `_seal_generic` plus
    `_SQLITE_BINDERS` would (tests/unit/security/test_audit_fastpath.py checks both agree).

    The gateway's rows (exact UUIDs, UTC datetimes, a dict of details, no bookkeeping columns)
    take a shorter road: each UUID's text is made once per batch, a datetime is formatted once
    for both the chain and SQLite, the batch's shared values (day, now) are formatted once, a
    missing id is cut from one `os.urandom` call per batch, and the chain record is a Struct
    instead of two dicts. Any other row takes the generic road.
    """

    __slots__ = ("_chain", "_ids", "_ids_used", "_now", "_now_text", "_uuids")

    def __init__(self, chain: ChainCursor, now: datetime) -> None:
        self._chain = chain
        self._now = now
        self._now_text = sqlite_datetime(now)
        self._uuids: dict[int, tuple[str, str]] = {}
        self._ids = b""
        self._ids_used = 0

    def bind(self, row: dict[str, Any], params: list[Any]) -> None:
        if not _FAST_BINDING or not self._bind_usual(row, params):
            self._bind_generic(row, params)

    def _bind_generic(self, row: dict[str, Any], params: list[Any]) -> None:
        _seal_generic(row, self._chain, self._now)
        get = row.get
        append = params.append
        for name, bind in _SQLITE_BINDERS:
            value = get(name)
            append(value if value is None or bind is None else bind(value))

    def _bind_usual(self, row: dict[str, Any], params: list[Any]) -> bool:
        """Bind a usual row; False (nothing done) for any other, left to the generic road."""
        get = row.get
        occurred = get("occurred_at")
        details = get("details")
        uuids = [get(name) for name in _UUID_COLUMNS]
        plain = [get(name) for name in _PLAIN_COLUMNS]
        if not (
            row.keys() <= _USUAL_KEYS
            and occurred.__class__ is datetime
            and occurred.tzinfo is UTC
            and details.__class__ is dict
            and _UUID_CLASSES.issuperset(map(type, uuids))
            and _PLAIN_CLASSES.issuperset(map(type, plain))
        ):
            return False
        record_id = get("id")
        if record_id is None:
            if "id" in row:
                return False
            id_hex, id_text = self._new_id()
        elif record_id.__class__ is uuid.UUID:
            id_hex, id_text = self._uuid_texts(record_id)
        else:
            return False
        known = self._uuids
        texts = [
            _NO_UUID if value is None else (known.get(value.int) or self._uuid_texts(value))
            for value in uuids
        ]
        (actor_hex, actor), (member_hex, member), (target_hex, tenant), (consent_hex, consent) = (
            texts
        )
        (action, outcome, client_id, target, api_id, api_level) = plain[:6]
        (status, latency, request_id, client_ip, reason) = plain[6:]
        occurred_text = occurred.isoformat(timespec="microseconds")  # ...+00:00 (UTC checked)
        chain = self._chain
        seq = chain.seq + 1
        digest = chain.push(
            canonical(
                ChainRecord(
                    id_text, occurred_text, action, outcome, actor, member, client_id,
                    tenant, target, api_id, api_level, consent, status, latency,
                    request_id, client_ip, reason, details, chain.day, seq,
                )
            )
        )  # fmt: skip
        params.extend(
            (
                # sqlite_datetime(occurred): the same digits, a space for the T, no offset
                occurred_text[:10] + " " + occurred_text[11:26],
                action, outcome, actor_hex, member_hex, client_id, target_hex, target, api_id,
                api_level, consent_hex, status, latency, request_id, client_ip, reason,
                _json(details), chain.day, seq, digest, id_hex, self._now_text,
                self._now_text,
            )
        )  # fmt: skip
        return True

    def _uuid_texts(self, value: uuid.UUID) -> tuple[str, str]:
        """(hex, str(value)): SQLite's and the chain's text of a UUID, once per batch."""
        texts = self._uuids.get(value.int)  # keyed by the int: UUID's own hash is Python code
        if texts is None:
            texts = self._uuids[value.int] = _uuid_texts(value.hex)
        return texts

    def _new_id(self) -> tuple[str, str]:
        """A fresh record id's texts (`_time_ordered_id`), its random bits cut from one
        batch-wide `os.urandom` draw."""
        start = self._ids_used
        if start + 10 > len(self._ids):
            self._ids, start = os.urandom(10 * 64), 0
        self._ids_used = start + 10
        return _uuid_texts(_time_ordered_id(self._ids[start : start + 10]).hex())


def _time_ordered_id(random10: bytes) -> bytes:
    """A UUID version 7 (RFC 9562): 48 bits of Unix time in ms, then 74 of the random bits.
    Record ids that grow with time append to the primary key's b-tree instead of dirtying a
    random leaf page per row, which keeps the insert cheap as the table grows."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + random10)
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return bytes(raw)


def _uuid_texts(hex32: str) -> tuple[str, str]:
    """A UUID's 32 hex digits and its canonical text (what `str(uuid.UUID)` gives)."""
    h = hex32
    return h, f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NO_UUID: Final = (None, None)
_UUID_CLASSES: Final = frozenset((uuid.UUID, type(None)))
_json: Final = json.JSONEncoder().encode  # json.dumps(value) without its per-call argument checks
_UUID_COLUMNS: Final = ("actor_tenant_id", "actor_member_id", "target_tenant_id", "consent_id")
# Columns bound and chained as they are when they hold str/int/None (binder None, no conversion).
_PLAIN_COLUMNS: Final = (
    "action",
    "outcome",
    "actor_client_id",
    "target",
    "api_id",
    "api_level",
    "status_code",
    "latency_us",
    "request_id",
    "client_ip",
    "reason",
)
_PLAIN_CLASSES: Final = frozenset((str, int, type(None)))
_USUAL_KEYS: Final = frozenset(CHAINED_COLUMNS)
# The parameter order `_bind_usual` writes; if the table's column order ever differs, every
# row takes the generic road (and test_audit_fastpath.py fails).
_USUAL_ORDER: Final = (
    "occurred_at",
    *CHAINED_COLUMNS[2:],  # action ... details, after id and occurred_at
    "day",
    "seq",
    "chain_hash",
    "id",
    "created_at",
    "updated_at",
)
_FAST_BINDING: Final = tuple(name for name, _ in _SQLITE_BINDERS) == _USUAL_ORDER


def _multi_row_insert(rows: int) -> str:
    # Column names come from the table definition, never from input.
    columns = ", ".join(f'"{name}"' for name, _ in _SQLITE_BINDERS)
    one = "(" + ", ".join("?" * len(_SQLITE_BINDERS)) + ")"
    return f"INSERT INTO audit_records ({columns}) VALUES " + ", ".join([one] * rows)  # noqa: S608


_CORE: Final = _HeadStatements()
_EMBEDDED: Final = _EmbeddedHeadStatements()


class _WritersTurn:
    """Queue the audit writers of all worker processes on an OS file lock before they ask for
    SQLite's write lock. A writer refused by SQLite sleeps in its busy handler (1, 2, 5, 10 ...
    ms) however soon the lock is free; one blocked on the file lock wakes the moment it is.

    The lock file stays open while the writer lives (opening it per flush cost more than the
    lock). Were the file replaced meanwhile, the writers would only lose the quick hand-off:
    BEGIN IMMEDIATE still lets one writer in at a time."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        unlocked = fcntl is None or not database or database == ":memory:"
        self._path = None if unlocked else f"{database}-auditlock"
        self._handle: IO[str] | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        if self._handle is None:
            self._handle = open(self._path, "a")  # noqa: SIM115 - kept open, closed by close()
        fd = self._handle.fileno()
        fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _sqlite_engine(engine: AsyncEngine) -> Engine | None:
    """A plain pysqlite engine on the same file, each transaction BEGIN IMMEDIATE (write lock
    first, so two processes never seal from the same snapshot)."""
    if engine.dialect.name != "sqlite":
        return None
    url = engine.url.set(drivername="sqlite")
    sync = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(sync, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # each commit fsyncs the WAL: durable
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return sync


@event.listens_for(Session, "after_commit")
def _announce_unsealed(session: Session) -> None:
    # record_event marks the session; once its change commits, the writers seal the new rows.
    if session.info.pop(PENDING_KEY, False):
        for writer in list(_writers):
            writer.notify_unsealed()
