"""A pull-API scenario connector assembled from stream bindings: the shape every built-in takes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar, runtime_checkable

import httpx
import msgspec

from connectors.catalog import Catalog
from connectors.consent import ConsentGrant
from connectors.contract import CheckResult
from connectors.features import Feature
from connectors.pipeline import StreamBinding, StreamPipeline
from connectors.pull import pull_stream
from connectors.records import ConfigError, ConsentDenied, ReadItem, StateCheckpoint, SyncState
from connectors.spec import ConnectionMode, ConnectorSpec
from puhui.outbound import (
    InMemoryLastGoodStore,
    LastGoodStore,
    OutboundClient,
    RetryPolicy,
    Sleep,
    UpstreamBreakers,
    UpstreamError,
    UpstreamRejected,
    upstream_breakers,
)

__all__ = ["ConnectorRuntime", "PullApiConfig", "ScenarioConnector", "SharedBreakers"]


class PullApiConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Config common to pull-API connectors; each adds its credential field."""

    base_url: str
    page_size: int = 100
    timeout_s: float = 5.0


C = TypeVar("C", bound=PullApiConfig)

_DEFAULT_SNAPSHOTS = InMemoryLastGoodStore()


async def _nothing() -> None:
    return None


@runtime_checkable
class SharedBreakers(Protocol):
    """Breakers whose state lives outside the process (several workers): the connector takes
    the shared state before each page it fetches and hands its outcomes back after it."""

    async def pull(self, upstream: str) -> None: ...

    async def push(self, upstream: str) -> None: ...


class ConnectorRuntime(msgspec.Struct, frozen=True, kw_only=True):
    """Process resources a connector uses: breakers, last-good store, retry policy, transport."""

    breakers: UpstreamBreakers = msgspec.field(default_factory=upstream_breakers)
    snapshots: LastGoodStore = _DEFAULT_SNAPSHOTS
    retry: RetryPolicy = msgspec.field(default_factory=RetryPolicy)
    sleep: Sleep | None = None
    transport: httpx.AsyncBaseTransport | None = None


class ScenarioConnector(Generic[C]):
    """Implements the connector contract for an upstream with cursor-paginated pull APIs."""

    def __init__(
        self,
        *,
        spec: ConnectorSpec,
        config_type: type[C],
        auth_headers: Callable[[C], Mapping[str, str]],
        bindings: tuple[StreamBinding, ...],
        features: tuple[Feature, ...],
        runtime: ConnectorRuntime | None = None,
    ) -> None:
        self._spec = spec
        self._config_type = config_type
        self._auth_headers = auth_headers
        self._bindings = {b.spec.name: b for b in bindings}
        self._catalog = Catalog(tuple(b.spec for b in bindings))
        self._features = features
        self._runtime = runtime or ConnectorRuntime()

    def spec(self) -> ConnectorSpec:
        return self._spec

    def catalog(self) -> Catalog:
        """The static catalog, available without config (manifest validation, docs)."""
        return self._catalog

    def features(self) -> tuple[Feature, ...]:
        return self._features

    def binding(self, stream: str) -> StreamBinding:
        return self._bindings[stream]

    def pipeline(self, stream: str, channel: ConnectionMode) -> StreamPipeline:
        """A fresh normalisation pipeline for ``stream`` (bulk files, partner pushes)."""
        return StreamPipeline(
            self._bindings[stream],
            source=self._spec.name,
            connector_version=self._spec.version,
            channel=channel,
        )

    def with_runtime(self, runtime: ConnectorRuntime) -> ScenarioConnector[C]:
        """The same connector using other process resources (tests, per-worker stores)."""
        return ScenarioConnector(
            spec=self._spec,
            config_type=self._config_type,
            auth_headers=self._auth_headers,
            bindings=tuple(self._bindings.values()),
            features=self._features,
            runtime=runtime,
        )

    def _own(self, config: msgspec.Struct) -> C:
        if not isinstance(config, self._config_type):
            raise TypeError(f"{self._spec.name} needs a {self._config_type.__name__} config")
        return config

    def _client(self, config: C) -> OutboundClient:
        runtime = self._runtime
        extra = {} if runtime.sleep is None else {"sleep": runtime.sleep}
        return OutboundClient(
            upstream=self._spec.name,
            base_url=config.base_url,
            headers=self._auth_headers(config),
            timeout_s=config.timeout_s,
            retry=runtime.retry,
            breaker=runtime.breakers.breaker(self._spec.name),
            transport=runtime.transport,
            **extra,
        )

    def _shared(self) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
        """Pull/push of the breaker's shared state around a fetch (no-ops in one process)."""
        breakers, name = self._runtime.breakers, self._spec.name
        if isinstance(breakers, SharedBreakers):
            return (lambda: breakers.pull(name)), (lambda: breakers.push(name))
        return _nothing, _nothing

    async def check(self, config: msgspec.Struct) -> CheckResult:
        own = self._own(config)
        started = time.perf_counter()
        pull, push = self._shared()
        await pull()
        async with self._client(own) as client:
            try:
                await client.get("/v1/health")
                ok, message = True, "upstream reachable, credentials accepted"
            except UpstreamRejected as exc:
                ok, message = False, f"upstream rejected the credentials: HTTP {exc.status}"
            except UpstreamError as exc:
                ok, message = False, f"upstream unavailable: {exc}"
            await push()
            elapsed = int((time.perf_counter() - started) * 1000)
            return CheckResult(
                ok=ok, message=message, latency_ms=elapsed, circuit=client.breaker.state
            )

    async def discover(self, config: msgspec.Struct) -> Catalog:
        self._own(config)
        return self._catalog

    async def read(
        self,
        config: msgspec.Struct,
        consent: ConsentGrant,
        streams: Sequence[str],
        state: SyncState,
    ) -> AsyncIterator[ReadItem]:
        try:
            own = self._own(config)
        except TypeError as exc:
            yield ConfigError(stream=None, message=str(exc))
            return
        async with self._client(own) as client:
            for stream in streams:
                binding = self._bindings.get(stream)
                if binding is None:
                    yield ConfigError(
                        stream=stream, message=f"{self._spec.name} has no stream {stream!r}"
                    )
                    continue
                # JR/T 0269 6.3.2 e: no fetch without consent covering every item the stream needs.
                missing = consent.missing_items(self._spec.name, binding.spec.data_items)
                if missing:
                    yield ConsentDenied(
                        stream=stream,
                        message=f"consent {consent.consent_id} lacks {sorted(missing)}",
                        missing_items=missing,
                    )
                    continue
                pipeline = self.pipeline(stream, ConnectionMode.PULL_API)
                before, after = self._shared()
                async for item in pull_stream(
                    client=client,
                    pipeline=pipeline,
                    consent=consent,
                    state=state,
                    page_size=own.page_size,
                    snapshots=self._runtime.snapshots,
                    before_fetch=before,
                    after_fetch=after,
                ):
                    if isinstance(item, StateCheckpoint):
                        state = item.state
                    yield item
                    if isinstance(item, ConsentDenied) and item.revoked:
                        return
