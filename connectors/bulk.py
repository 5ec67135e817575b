"""Bulk-file mode (JR/T 0269 7.3.2 c): CSV or JSON-lines through the same normalisers as pulls.

:func:`import_bulk_file` normalises a whole file at once. :class:`BulkRead` hands a large
file's records over in chunks and normalises the next chunk in a worker process while the
caller stores the current one (two cores: normalising and storing overlap). The worker runs the
very same :class:`~connectors.pipeline.StreamPipeline` over the same rows, so the records, the
de-duplication across the whole file, the consent gate and the quality report are those of
:func:`import_bulk_file`; only where the work happens differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import io
import itertools
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Final

import msgspec

from connectors.consent import ConsentGrant
from connectors.pipeline import StreamPipeline
from connectors.quality import QualityReport
from connectors.records import Provenance, Record
from connectors.registry import ENTRY_POINT_GROUP
from connectors.scenario import ScenarioConnector
from connectors.spec import ConnectionMode
from puhui.clock import utcnow

__all__ = [
    "BulkFormat",
    "BulkImport",
    "BulkRead",
    "import_bulk_file",
    "start_worker",
    "worker_cpu_seconds",
]

_JSON_ROW = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)
CHUNK_RECORDS: Final = 5_000
_FIRST_CHUNK: Final = 500  # records of a worker's first chunk (then doubling up to ``chunk``)
# Files with fewer rows are normalised inline: a worker round trip would not pay for itself.
PARALLEL_FROM_ROWS: Final = 2 * CHUNK_RECORDS


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


def _raw_rows(content: str | Iterable[str], file_format: BulkFormat) -> Iterator[dict[str, object]]:
    lines: Iterable[str] = io.StringIO(content) if isinstance(content, str) else content
    return _csv_rows(lines) if file_format is BulkFormat.CSV else _jsonl_rows(lines)


def _held_under(
    connector: ScenarioConnector[Any],
    stream: str,
    consents: Mapping[str, ConsentGrant],
    now: datetime,
) -> dict[str, str]:
    """USCC -> the consent its rows are collected under (JR/T 0269 6.3.2 e): a live consent
    covering the stream's data items; a USCC missing here has its rows rejected."""
    source = connector.spec().name
    needed = connector.binding(stream).spec.data_items
    return {
        uscc: grant.consent_id
        for uscc, grant in consents.items()
        if now < grant.valid_until and grant.permits(source, needed)
    }


def _records(
    pipeline: StreamPipeline,
    content: str | Iterable[str],
    file_format: BulkFormat,
    held_under: Mapping[str, str],
    now: datetime,
) -> Iterator[Record]:
    return pipeline.process(
        _raw_rows(content, file_format),
        consent_id="",
        fetched_at=now,
        expected_uscc=None,
        consent_for=held_under.get,
    )


def import_bulk_file(
    connector: ScenarioConnector[Any],
    stream: str,
    content: str | Iterable[str],
    *,
    file_format: BulkFormat,
    consents: Mapping[str, ConsentGrant],
) -> BulkImport:
    """Normalise a partner's file for ``stream``; each row needs a consent for its USCC."""
    pipeline = connector.pipeline(stream, ConnectionMode.BULK_FILE)
    now = utcnow()
    held_under = _held_under(connector, stream, consents, now)
    records = tuple(_records(pipeline, content, file_format, held_under, now))
    return BulkImport(stream=stream, records=records, quality=pipeline.report())


# --------------------------------------------------------------------------- chunked, in a worker


class BulkRead:
    """A partner's file for ``stream``, handed over as chunks of at most ``chunk`` records.

    ``async for records in read.chunks()`` yields the accepted records in file order;
    :attr:`quality` is the file's report once the chunks are exhausted. With ``parallel`` (the
    default for files of ``PARALLEL_FROM_ROWS`` rows or more on a machine with two cores or
    more, for a connector installed as an entry point) the next chunk is normalised in a worker
    process while the caller handles the current one; otherwise inline, chunk by chunk.
    """

    def __init__(
        self,
        connector: ScenarioConnector[Any],
        stream: str,
        content: str | Iterable[str],
        *,
        file_format: BulkFormat,
        consents: Mapping[str, ConsentGrant],
        chunk: int = CHUNK_RECORDS,
        parallel: bool | None = None,
    ) -> None:
        if chunk < 1:
            raise ValueError("chunk must be at least one record")
        self.stream = stream
        self.quality: QualityReport | None = None
        self._connector = connector
        self._content = content if isinstance(content, str) else list(content)
        self._format = file_format
        self._now = utcnow()
        self._held_under = _held_under(connector, stream, consents, self._now)
        self._chunk = chunk
        locator = _locator(connector)
        if parallel is None:
            parallel = _cores() >= 2 and _rows(self._content) >= PARALLEL_FROM_ROWS
        self.parallel = parallel and locator is not None
        self._locator = locator

    async def chunks(self) -> AsyncGenerator[tuple[Record, ...], None]:
        if self.parallel and self._locator is not None:
            try:
                async for records in self._in_worker(self._locator):
                    yield records
                return
            except _WorkerUnavailable:
                self.parallel = False  # no worker could start: normalise inline instead
        pipeline = self._connector.pipeline(self.stream, ConnectionMode.BULK_FILE)
        found = _records(pipeline, self._content, self._format, self._held_under, self._now)
        while batch := tuple(itertools.islice(found, self._chunk)):
            yield batch
        self.quality = pipeline.report()

    async def _in_worker(self, locator: str) -> AsyncGenerator[tuple[Record, ...], None]:
        """JSON lines go to the worker slice by slice (``chunk`` lines, the first slices smaller);
        a CSV file, whose quoted values may span lines, goes whole and comes back ``chunk``
        records at a time. Either way the worker's one pipeline sees every row in file order."""
        record_type = self._connector.binding(self.stream).spec.record_type
        decode = _chunk_decoder(record_type).decode
        loop = asyncio.get_running_loop()
        executor = _executor()
        job = uuid.uuid4().hex
        closed = False

        def call(fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
            return asyncio.wrap_future(_submit(executor, fn, *args), loop=loop)

        by_line = self._format is BulkFormat.JSON_LINES
        slices = _slices(self._content, self._chunk) if by_line else iter(())
        size = min(self._chunk, _FIRST_CHUNK)
        try:
            try:
                payload: bytes | None = await call(
                    _job_open,
                    job,
                    locator,
                    self.stream,
                    next(slices, "") if by_line else self._content,
                    self._format,
                    self._held_under,
                    self._now,
                    size,
                )
            except BrokenProcessPool as exc:  # before any record: the caller can go inline
                _forget(executor)
                closed = True
                raise _WorkerUnavailable from exc
            while payload is not None:
                provenances, rows = decode(payload)
                if not rows and not by_line:
                    break
                # The worker normalises the next chunk while the caller stores this one. Chunks
                # start small and grow: the caller waits only for a small first one.
                ahead: asyncio.Future[Any] | None
                if by_line:
                    lines = next(slices, None)
                    ahead = None if lines is None else call(_job_feed, job, lines)
                else:
                    size = min(self._chunk, 2 * size)
                    ahead = call(_job_next, job, size)
                if rows:
                    yield tuple(
                        Record(
                            stream=self.stream,
                            key=row.key,
                            content_hash=row.digest,
                            data=row.data,
                            provenance=provenances[row.at],
                        )
                        for row in rows
                    )
                payload = None if ahead is None else await ahead
            self.quality = _REPORT.decode(await call(_job_close, job))
            closed = True
        except BrokenProcessPool:
            _forget(executor)  # the worker died: the next file starts a new one
            closed = True
            raise
        finally:
            if not closed:  # abandoned or failed: the worker forgets the job
                with contextlib.suppress(BrokenProcessPool):
                    _submit(executor, _job_drop, job)


def _slices(content: str | list[str], chunk: int) -> Iterator[str | list[str]]:
    """The file in slices of ``chunk`` lines, the first ones smaller (``_FIRST_CHUNK``,
    doubling): a text is cut after its ``chunk``-th newline (found as it goes, so the first
    slice is ready at once), a list of lines is sliced."""
    size = min(chunk, _FIRST_CHUNK)
    if not isinstance(content, str):
        start = 0
        while start < len(content):
            yield content[start : start + size]
            start += size
            size = min(chunk, 2 * size)
        return
    start, end = 0, len(content)
    while start < end:
        stop = start
        for _ in range(size):
            stop = content.find("\n", stop) + 1
            if not stop:
                stop = end
                break
        yield content[start:stop]
        start = stop
        size = min(chunk, 2 * size)


class _WorkerUnavailable(Exception):
    """The worker process could not start (or died before its first chunk)."""


def _cores() -> int:
    """CPUs this process may run on (its affinity, where the platform tells)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _rows(content: str | list[str]) -> int:
    return content.count("\n") + 1 if isinstance(content, str) else len(content)


@lru_cache(maxsize=1)
def _installed() -> tuple[tuple[str, object], ...]:
    """Every installed connector entry point and the object it loads (loaded once)."""
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append((point.value, point.load()))
        except Exception:  # noqa: S112  a broken entry point just cannot run in a worker
            continue
    return tuple(found)


def _locator(connector: ScenarioConnector[Any]) -> str | None:
    """``module:attribute`` a worker process imports ``connector`` by (installed ones only)."""
    return next((value for value, loaded in _installed() if loaded is connector), None)


# The one worker process: jobs keep state between calls, so every call of a job must reach the
# same process (max_workers=1). It starts on first use and lives as long as this process.
_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _executor() -> ProcessPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
            )
        return _POOL


def _forget(executor: Executor) -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is executor:
            _POOL = None


def _submit(executor: Executor, fn: Callable[..., Any], *args: Any) -> Future[Any]:
    try:
        return executor.submit(fn, *args)
    except BrokenProcessPool:
        _forget(executor)  # the worker died: the next file starts a new one
        raise


def start_worker() -> None:
    """Start the worker process now (a server's start-up, a benchmark's warm-up) rather than on
    the first large file."""
    _executor().submit(_warm).result()


def worker_cpu_seconds() -> float:
    """CPU seconds the worker process has used so far (starts it if needed): what a benchmark
    adds to its own ``time.process_time()`` to count the whole import's CPU."""
    seconds: float = _executor().submit(time.process_time).result()
    return seconds


def _warm() -> int:
    return len(_installed())


def _worker_init() -> None:
    """In the worker, once: import every installed connector, then exempt that long-lived heap
    from the garbage collector's full passes (``gc.freeze``), which would otherwise walk it
    again and again while a file's short-lived rows come and go."""
    _installed()
    gc.collect()
    gc.freeze()


_Rows = list[tuple[str, str, Any, int]]
_REPORT = msgspec.msgpack.Decoder(QualityReport)
_ENCODER = msgspec.msgpack.Encoder()


@lru_cache(maxsize=64)
def _chunk_decoder(record_type: type[msgspec.Struct]) -> msgspec.msgpack.Decoder[Any]:
    """Decodes a chunk into its provenances and rows of (key, content hash, data, provenance
    index): rows as untracked array-like structs (no tuple per row for the GC to visit)."""
    row = msgspec.defstruct(
        "ChunkRow",
        [("key", str), ("digest", str), ("data", record_type), ("at", int)],
        array_like=True,
        gc=False,
        frozen=True,
    )
    return msgspec.msgpack.Decoder(tuple[list[Provenance], list[row]])  # type: ignore[valid-type]


class _Job:
    """A file being read in the worker process."""

    def __init__(
        self,
        pipeline: StreamPipeline,
        records: Iterator[Record],
        held_under: dict[str, str],
        now: datetime,
    ) -> None:
        self.pipeline = pipeline
        self.records = records  # a file sent whole; JSON lines arrive by _job_feed
        self.held_under = held_under
        self.now = now


_JOBS: dict[str, _Job] = {}


def _job_open(
    job: str,
    locator: str,
    stream: str,
    content: str | list[str],
    file_format: BulkFormat,
    held_under: dict[str, str],
    now: datetime,
    chunk: int,
) -> bytes:
    """Start reading a file: JSON lines get their first slice of lines (more come with
    :func:`_job_feed`), a CSV file comes whole (read on with :func:`_job_next`)."""
    module, _, attribute = locator.partition(":")
    connector: ScenarioConnector[Any] = getattr(import_module(module), attribute)
    pipeline = connector.pipeline(stream, ConnectionMode.BULK_FILE)
    if file_format is BulkFormat.JSON_LINES:
        _JOBS[job] = _Job(pipeline, iter(()), held_under, now)
        return _job_feed(job, content)
    records = _records(pipeline, content, file_format, held_under, now)
    _JOBS[job] = _Job(pipeline, records, held_under, now)
    return _job_next(job, chunk)


def _job_feed(job: str, lines: str | list[str]) -> bytes:
    """The records of the next JSON lines (a slice of the text, or of a list of lines). The
    pipeline, its de-duplication and its tally carry over from the lines before: the result
    is the file's, read in one go."""
    state = _JOBS[job]
    fed = _records(state.pipeline, lines, BulkFormat.JSON_LINES, state.held_under, state.now)
    return _encoded(fed, None)


def _job_next(job: str, chunk: int) -> bytes:
    """The next ``chunk`` records of a file sent whole."""
    return _encoded(_JOBS[job].records, chunk)


def _encoded(records: Iterator[Record], chunk: int | None) -> bytes:
    """Up to ``chunk`` records (all with None): their distinct provenances, and per record its
    key, content hash, data and provenance index (records of one enterprise share one)."""
    provenances: list[Provenance] = []
    index: dict[int, int] = {}
    rows: _Rows = []
    for record in itertools.islice(records, chunk):
        at = index.get(id(record.provenance))
        if at is None:
            at = index[id(record.provenance)] = len(provenances)
            provenances.append(record.provenance)
        rows.append((record.key, record.content_hash, record.data, at))
    return _ENCODER.encode((provenances, rows))


def _job_close(job: str) -> bytes:
    return _ENCODER.encode(_JOBS.pop(job).pipeline.report())


def _job_drop(job: str) -> None:
    _JOBS.pop(job, None)
