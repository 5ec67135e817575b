"""The pull-API read loop: consent check, cursor pages, checkpoints and last-good fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec

from connectors.consent import ConsentGrant
from connectors.pipeline import StreamPipeline
from connectors.records import (
    ConfigError,
    ConsentDenied,
    ReadItem,
    StateCheckpoint,
    SyncState,
    TransientError,
    UpstreamDataError,
)
from puhui.clock import utcnow
from puhui.outbound import LastGoodStore, OutboundClient, UpstreamRejected, UpstreamUnavailable

__all__ = ["UpstreamPage", "pull_stream"]


class UpstreamPage(msgspec.Struct, frozen=True):
    """The envelope every simulated upstream answers with: rows and the cursor after them."""

    items: list[dict[str, Any]]
    cursor: str | None = None
    has_more: bool = False


# Floats arrive as Decimal so that money never passes through binary floating point.
_PAGE = msgspec.json.Decoder(UpstreamPage, float_hook=Decimal)


async def _fetch(
    client: OutboundClient,
    path: str,
    params: dict[str, str],
    before: Callable[[], Awaitable[None]] | None,
    after: Callable[[], Awaitable[None]] | None,
) -> bytes:
    if before is not None:
        await before()
    try:
        return (await client.get(path, params=params)).content
    finally:
        if after is not None:
            await after()


async def pull_stream(
    *,
    client: OutboundClient,
    pipeline: StreamPipeline,
    consent: ConsentGrant,
    state: SyncState,
    page_size: int,
    snapshots: LastGoodStore,
    before_fetch: Callable[[], Awaitable[None]] | None = None,
    after_fetch: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[ReadItem]:
    """Read one stream page by page from the cursor in ``state``.

    The consent is re-checked before every page so a revocation stops the read at once
    (JR/T 0269 6.1); an outage serves last-good pages, marked stale, without advancing
    the state (6.3.2 d). ``before_fetch``/``after_fetch`` run around every upstream call
    (a circuit breaker shared by several workers syncs its state there).
    """
    stream = pipeline.binding.spec.name
    path = pipeline.binding.path.format(uscc=consent.subject_uscc)
    cursor = state.cursor(stream)
    warned_degraded = False
    while True:
        if not await consent.still_valid():
            yield ConsentDenied(stream=stream, message="consent revoked or expired", revoked=True)
            return
        params = {"limit": str(page_size)} | ({"after": cursor} if cursor else {})
        key = f"{client.upstream}:{path}?{urlencode(sorted(params.items()))}"
        snapshot_at = None
        try:
            body = await _fetch(client, path, params, before_fetch, after_fetch)
        except UpstreamRejected as exc:
            kind = ConfigError if exc.status in (401, 403) else UpstreamDataError
            yield kind(stream=stream, message=f"upstream rejected the request: HTTP {exc.status}")
            return
        except UpstreamUnavailable as exc:
            snapshot = await snapshots.get(key)
            if snapshot is None:
                yield TransientError(stream=stream, message=str(exc))
                return
            body, snapshot_at = snapshot.body, snapshot.taken_at
            if not warned_degraded:
                warned_degraded = True
                yield TransientError(
                    stream=stream,
                    message=f"{exc}; serving last-good data stale by {snapshot.staleness()}",
                    degraded=True,
                )
        try:
            page = _PAGE.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            yield UpstreamDataError(stream=stream, message=f"malformed upstream payload: {exc}")
            return
        if snapshot_at is None:
            await snapshots.put(key, body)
        for record in pipeline.process(
            page.items,
            consent_id=consent.consent_id,
            fetched_at=utcnow(),
            expected_uscc=consent.subject_uscc,
            snapshot_taken_at=snapshot_at,
        ):
            yield record
        cursor = page.cursor
        if snapshot_at is None:
            state = state.advanced(stream, cursor)
            yield StateCheckpoint(
                stream=stream, state=state, quality=pipeline.report(), complete=not page.has_more
            )
        if not page.has_more:
            return
