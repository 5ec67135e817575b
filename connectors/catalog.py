"""What a connector can deliver: streams with their schema, keys and data-element classes.

Each stream states the data-element attributes of JR/T 0269 6.2.2 so that every stored
datum can carry them, and the consent data items it needs (6.3.2 e).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = [
    "Access",
    "Catalog",
    "FieldClass",
    "FieldSpec",
    "Origin",
    "Shape",
    "StreamSpec",
    "Volatility",
    "classified",
]


class FieldClass(StrEnum):
    """Sensitivity class of a field: C1 low, C2 commercial, C3 sensitive (JR/T 0269 6.6.2 a)."""

    C1 = "C1"
    C2 = "C2"
    C3 = "C3"


class Volatility(StrEnum):
    """Static data is re-verified periodically; dynamic data is monitored continuously (6.2.2)."""

    STATIC = "static"
    DYNAMIC = "dynamic"


class Shape(StrEnum):
    """Cross-section (one point in time) or time series (6.2.2)."""

    CROSS_SECTION = "cross_section"
    TIME_SERIES = "time_series"


class Origin(StrEnum):
    """Internal (内源, the bank's own) or external (外源) data (6.2.2)."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class Access(StrEnum):
    """Public data, or authorised data usable only with the customer's consent (6.2.2)."""

    PUBLIC = "public"
    AUTHORISED = "authorised"


class FieldSpec(msgspec.Struct, frozen=True):
    """One field of a stream's record and its sensitivity class."""

    name: str
    classification: FieldClass


def classified(**classes: FieldClass) -> tuple[FieldSpec, ...]:
    """Field classes written as keyword arguments: ``classified(uscc=C1, revenue_fen=C2)``."""
    return tuple(FieldSpec(name, cls) for name, cls in classes.items())


class StreamSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One stream: record type, keys, consent data items and data-element attributes."""

    name: str
    title: str
    record_type: type[msgspec.Struct]
    schema_version: int
    primary_key: tuple[str, ...]
    cursor_field: str | None
    data_items: frozenset[str]
    fields: tuple[FieldSpec, ...]
    volatility: Volatility
    shape: Shape
    origin: Origin = Origin.EXTERNAL
    access: Access = Access.AUTHORISED

    def classification_of(self, field: str) -> FieldClass:
        for spec in self.fields:
            if spec.name == field:
                return spec.classification
        raise KeyError(f"stream {self.name!r} has no field {field!r}")

    def problems(self) -> list[str]:
        """Inconsistencies between the declared keys, classes and the record type."""
        names = set(self.record_type.__struct_fields__)
        found = [
            f"primary key field {k!r} is not in the record"
            for k in self.primary_key
            if k not in names
        ]
        if not self.primary_key:
            found.append("primary key must not be empty")
        if self.cursor_field is not None and self.cursor_field not in names:
            found.append(f"cursor field {self.cursor_field!r} is not in the record")
        classified = {f.name for f in self.fields}
        if classified != names:
            found.append(
                f"fields classified {sorted(classified)} differ from record fields {sorted(names)}"
            )
        if self.access is Access.AUTHORISED and not self.data_items:
            found.append("authorised data needs at least one consent data item (6.2.2)")
        return [f"stream {self.name}: {p}" for p in found]


class Catalog(msgspec.Struct, frozen=True):
    """The streams a connector offers."""

    streams: tuple[StreamSpec, ...]

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams:
            if spec.name == name:
                return spec
        raise KeyError(f"no stream named {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.streams)

    def problems(self) -> list[str]:
        found = [p for s in self.streams for p in s.problems()]
        if len(set(self.names)) != len(self.names):
            found.append("stream names must be unique")
        return found
