"""Group commit for audit records: many requests' records, one transaction, one chain writer.

Requests `submit` a record and await its future; a background task takes whatever queued up
(up to `batch_size`, waiting at most `flush_ms` for companions), locks the day's chain head (an
UPDATE, so concurrent workers serialise on it in SQLite and PostgreSQL alike), seals the batch
with `puhui.security.auditchain.seal`, inserts it and moves the head, then resolves the futures.
Domain events written by `record_event` in a caller's unit of work arrive unsealed (day NULL);
the writer seals them in order on its next flush (notified after their commit, or by the periodic
sweep for events committed by other processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
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
        """Commit what is queued, then stop."""
        task = self._task
        if task is None or task.done():
            return
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None
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
                    # Embedded mode: one short local transaction, run inline. A batch takes
                    # well under a millisecond; aiosqlite or a thread would pay a GIL hand-off
                    # (up to the 5 ms switch interval) per step while the loop is busy.
                    return self._flush_embedded(rows, sweep)
                async with self._engine.begin() as conn:
                    return await conn.run_sync(self._seal, rows, sweep)
            except IntegrityError:
                if attempt == 2:
                    raise
                # another worker created today's head row first: retry against it
        return False

    def _flush_embedded(self, rows: list[dict[str, Any]], sweep: bool) -> bool:
        assert self._sqlite is not None  # noqa: S101 - only called in embedded mode
        with self._sqlite.begin() as conn:
            return self._seal(conn, rows, sweep)

    def _seal(self, conn: Connection, rows: list[dict[str, Any]], sweep: bool) -> bool:
        """One transaction: lock the day head, seal pending and new rows in order, move the head."""
        if not rows and not sweep:
            return False
        now = utcnow()
        day = now.date()
        prev = _lock_head(conn, day, now)  # serialises every writer before anything is read
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
            conn.execute(insert(_records), rows)
        conn.execute(
            update(_heads)
            .where(_heads.c.day == day)
            .values(last_seq=prev.record["seq"], head_hash=prev.hash, updated_at=now)
        )
        return len(unsealed) == self._batch_size


def _lock_head(conn: Connection, day: date, now: Any) -> ChainEntry | None:
    """Take the day's head under a write lock; create it (empty chain) on the day's first flush."""
    head = conn.execute(
        update(_heads)
        .where(_heads.c.day == day)
        .values(updated_at=now)
        .returning(_heads.c.last_seq, _heads.c.head_hash)
    ).first()
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
        cursor.execute("PRAGMA synchronous=NORMAL")
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
