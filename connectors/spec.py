"""What a connector is: its manifest (JR/T 0269 6.3.1, 7.2.2, 7.3.2 c) and its config schema."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import msgspec

__all__ = [
    "AuthKind",
    "ConnectionMode",
    "ConnectorSpec",
    "ScenarioCategory",
    "Secret",
    "secret_fields",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class ScenarioCategory(StrEnum):
    """Scenario classes of JR/T 0269 7.2.2."""

    PRODUCTION_OPERATION = "production_operation"
    PUBLIC_SERVICE = "public_service"
    LIFE = "life"


class AuthKind(StrEnum):
    """How the connector authenticates to its upstream."""

    API_KEY = "api_key"
    BEARER = "bearer"


class ConnectionMode(StrEnum):
    """Digital connection modes (JR/T 0269 7.3.2 c); also the collection channel of 6.3.2 c."""

    PULL_API = "pull_api"
    PUSH_WEBHOOK = "push_webhook"
    BULK_FILE = "bulk_file"


Secret = Annotated[str, msgspec.Meta(min_length=1, extra={"secret": True})]
"""A config field holding a credential: stored encrypted, never logged or shown back."""


def secret_fields(config_schema: type[msgspec.Struct]) -> frozenset[str]:
    """Names of the config fields flagged with :data:`Secret`."""
    info = msgspec.inspect.type_info(config_schema)
    if not isinstance(info, msgspec.inspect.StructType):
        raise TypeError(f"{config_schema!r} is not a msgspec Struct")
    return frozenset(f.name for f in info.fields if _is_secret(f.type))


def _is_secret(field_type: msgspec.inspect.Type) -> bool:
    if isinstance(field_type, msgspec.inspect.Metadata):
        extra: dict[str, Any] | None = field_type.extra
        return bool(extra and extra.get("secret")) or _is_secret(field_type.type)
    return False


class ConnectorSpec(msgspec.Struct, frozen=True, kw_only=True):
    """The manifest of a connector: identity, scenario class, data source, auth and modes."""

    name: str
    version: str
    title: str
    category: ScenarioCategory
    # JR/T 0269 6.3.2 c: the data source is one of the key elements every record carries.
    data_source: str
    auth_kind: AuthKind
    modes: frozenset[ConnectionMode]
    config_schema: type[msgspec.Struct]
    description: str = ""

    @property
    def secret_fields(self) -> frozenset[str]:
        return secret_fields(self.config_schema)

    def problems(self) -> list[str]:
        """Everything wrong with this manifest; empty when it is valid."""
        found: list[str] = []
        if not _NAME.match(self.name):
            found.append(f"name {self.name!r} must match {_NAME.pattern}")
        if not _VERSION.match(self.version):
            found.append(f"version {self.version!r} must be MAJOR.MINOR.PATCH")
        if not self.title.strip():
            found.append("title must not be blank")
        if not self.data_source.strip():
            found.append("data_source must not be blank (JR/T 0269 6.3.2 c)")
        if not self.modes:
            found.append("at least one connection mode is required")
        schema: object = self.config_schema  # checked at run time: entry points are untrusted
        if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)):
            found.append("config_schema must be a msgspec Struct type")
        return found

    def parse_config(self, raw: object) -> msgspec.Struct:
        """Validate raw config (a mapping or JSON bytes) into the connector's config type."""
        if isinstance(raw, bytes | str):
            return msgspec.json.decode(raw, type=self.config_schema)
        return msgspec.convert(raw, type=self.config_schema)
