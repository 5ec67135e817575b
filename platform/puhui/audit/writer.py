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
import sys
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any, Final, cast

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

from puhui.audit.chain import chain_body
from puhui.audit.models import AuditDayHead, AuditRecord
from puhui.clock import utcnow
from puhui.db.base import UtcDateTime
from puhui.security.auditchain import ChainEntry, genesis_hash, seal

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
        row.setdefault("id", uuid.uuid4())
        row.setdefault("details", {})
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
            if self._embedded_conn is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._thread, self._embedded_conn.close)
                self._embedded_conn = None
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
        conn = self._embedded_conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._embedded_conn = self._sqlite.connect()
        try:
            with _writers_turn(self._sqlite), conn.begin():  # BEGIN IMMEDIATE (_sqlite_engine)
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
        prev = heads.lock(conn, day, now)  # serialises every writer before anything is read
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
            entry = seal(prev, day, chain_body(row))
            updates.append({"b_id": row["id"], "b_seq": entry.record["seq"], "b_hash": entry.hash})
            prev = entry
        for row in rows:
            entry = seal(prev, day, chain_body(row))
            row.update(day=day, seq=entry.record["seq"], chain_hash=entry.hash)
            row.setdefault("created_at", now)
            row.setdefault("updated_at", now)
            prev = entry
        if prev is None:  # nothing to seal today
            return False
        if updates:
            conn.execute(
                update(_records)
                .where(_records.c.id == bindparam("b_id"))
                .values(day=day, seq=bindparam("b_seq"), chain_hash=bindparam("b_hash")),
                updates,
            )
        if rows:
            heads.insert_records(conn, rows)
        heads.move(conn, day, int(prev.record["seq"]), prev.hash, now)
        return len(unsealed) == self._batch_size


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

    def insert_records(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
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

    def insert_records(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        driver = _driver(conn)
        per_statement = _SQLITE_MAX_VARIABLES // len(_SQLITE_BINDERS)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = self._insert_sql.get(len(chunk))
            if sql is None:
                sql = self._insert_sql[len(chunk)] = _multi_row_insert(len(chunk))
            params: list[Any] = []
            append = params.append
            for row in chunk:
                get = row.get
                for name, bind in _SQLITE_BINDERS:
                    value = get(name)
                    append(value if value is None or bind is None else bind(value))
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


def _multi_row_insert(rows: int) -> str:
    # Column names come from the table definition, never from input.
    columns = ", ".join(f'"{name}"' for name, _ in _SQLITE_BINDERS)
    one = "(" + ", ".join("?" * len(_SQLITE_BINDERS)) + ")"
    return f"INSERT INTO audit_records ({columns}) VALUES " + ", ".join([one] * rows)  # noqa: S608


_CORE: Final = _HeadStatements()
_EMBEDDED: Final = _EmbeddedHeadStatements()


@contextlib.contextmanager
def _writers_turn(engine: Engine) -> Iterator[None]:
    """Queue the audit writers of all worker processes on an OS file lock before they ask for
    SQLite's write lock. A writer refused by SQLite sleeps in its busy handler (1, 2, 5, 10 ...
    ms) however soon the lock is free; one blocked on the file lock wakes the moment it is."""
    database = engine.url.database
    if fcntl is None or not database or database == ":memory:":
        yield
        return
    with open(f"{database}-auditlock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # releases the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


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
