"""The scenario-connector contract (JR/T 0269 6.3, 7.3.2; architecture decision 6).

A connector is an object with ``spec()``, ``check(config)``, ``discover(config)``,
``read(config, consent, streams, state)`` and ``features()``. Everything it yields is a
frozen msgspec Struct; records carry their provenance. This module gathers the whole
contract in one import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

import msgspec

from connectors.catalog import (
    Access,
    Catalog,
    FieldClass,
    FieldSpec,
    Origin,
    Shape,
    StreamSpec,
    Volatility,
)
from connectors.consent import ConsentGrant
from connectors.features import Feature, FeatureSpec, FeatureValue
from connectors.quality import QualityReport, Rejection
from connectors.records import (
    ConfigError,
    ConnectorError,
    ConsentDenied,
    Provenance,
    ReadItem,
    Record,
    StateCheckpoint,
    SyncState,
    TransientError,
    UpstreamDataError,
)
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory, Secret
from puhui.outbound import CircuitState

__all__ = [
    "Access",
    "AuthKind",
    "Catalog",
    "CheckResult",
    "ConfigError",
    "ConnectionMode",
    "Connector",
    "ConnectorError",
    "ConnectorSpec",
    "ConsentDenied",
    "ConsentGrant",
    "Feature",
    "FeatureSpec",
    "FeatureValue",
    "FieldClass",
    "FieldSpec",
    "Origin",
    "Provenance",
    "QualityReport",
    "ReadItem",
    "Record",
    "Rejection",
    "ScenarioCategory",
    "Secret",
    "Shape",
    "StateCheckpoint",
    "StreamSpec",
    "SyncState",
    "TransientError",
    "UpstreamDataError",
    "Volatility",
]


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the upstream is reachable with this config, and the state of its circuit."""

    ok: bool
    message: str
    latency_ms: int
    circuit: CircuitState


@runtime_checkable
class Connector(Protocol):
    """What the platform calls on a scenario connector."""

    def spec(self) -> ConnectorSpec:
        """The manifest; pure and cheap, called at start-up for validation."""
        ...

    async def check(self, config: msgspec.Struct) -> CheckResult:
        """Reach the upstream with ``config`` and report whether reads would work."""
        ...

    async def discover(self, config: msgspec.Struct) -> Catalog:
        """The streams available with ``config``."""
        ...

    def read(
        self,
        config: msgspec.Struct,
        consent: ConsentGrant,
        streams: Sequence[str],
        state: SyncState,
    ) -> AsyncIterator[ReadItem]:
        """Records, checkpoints and errors for ``streams``, only as far as ``consent`` allows."""
        ...

    def features(self) -> tuple[Feature, ...]:
        """The versioned features this connector's data feeds."""
        ...
