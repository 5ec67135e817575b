"""Connector discovery through the ``puhui.connectors`` entry-point group.

Every entry point must load and pass manifest validation, or start-up stops with a
:class:`ConnectorLoadError` naming it: a bank does not run with a silently missing source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType

from connectors.catalog import Catalog
from connectors.contract import Connector
from connectors.spec import ConnectorSpec

__all__ = ["ENTRY_POINT_GROUP", "ConnectorLoadError", "ConnectorRegistry", "load_connectors"]

ENTRY_POINT_GROUP = "puhui.connectors"


class ConnectorLoadError(RuntimeError):
    """A connector entry point failed to import or declared an invalid manifest."""

    def __init__(self, entry_point: EntryPoint, problem: str) -> None:
        super().__init__(
            f"connector entry point {entry_point.name!r} = {entry_point.value!r} "
            f"(group {entry_point.group!r}): {problem}"
        )
        self.entry_point_name = entry_point.name


class ConnectorRegistry(Mapping[str, Connector]):
    """The loaded connectors by name; immutable once built."""

    __slots__ = ("_connectors",)

    def __init__(self, connectors: Mapping[str, Connector]) -> None:
        self._connectors: Mapping[str, Connector] = MappingProxyType(dict(connectors))

    def __getitem__(self, name: str) -> Connector:
        return self._connectors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._connectors)

    def __len__(self) -> int:
        return len(self._connectors)

    def specs(self) -> tuple[ConnectorSpec, ...]:
        return tuple(c.spec() for c in self._connectors.values())


def _validate(entry_point: EntryPoint, loaded: object) -> Connector:
    if not isinstance(loaded, Connector):
        raise ConnectorLoadError(
            entry_point,
            f"{type(loaded).__name__} does not implement spec/check/discover/read/features",
        )
    try:
        spec = loaded.spec()
    except Exception as exc:
        raise ConnectorLoadError(entry_point, f"spec() raised {exc!r}") from exc
    if not isinstance(spec, ConnectorSpec):
        raise ConnectorLoadError(
            entry_point, f"spec() returned {type(spec).__name__}, not ConnectorSpec"
        )
    problems = spec.problems()
    if spec.name != entry_point.name:
        problems.append(f"spec name {spec.name!r} differs from the entry point name")
    catalog = getattr(loaded, "catalog", None)
    if callable(catalog):
        static = catalog()
        if isinstance(static, Catalog):
            problems.extend(static.problems())
    if problems:
        raise ConnectorLoadError(entry_point, "invalid manifest: " + "; ".join(problems))
    return loaded


def load_connectors(found: Iterable[EntryPoint] | None = None) -> ConnectorRegistry:
    """Load and validate every connector entry point; the first failure raises."""
    points = list(entry_points(group=ENTRY_POINT_GROUP) if found is None else found)
    connectors: dict[str, Connector] = {}
    for entry_point in sorted(points, key=lambda ep: ep.name):
        if entry_point.name in connectors:
            raise ConnectorLoadError(entry_point, "another entry point has the same name")
        try:
            loaded = entry_point.load()
        except Exception as exc:
            raise ConnectorLoadError(entry_point, f"import failed: {exc!r}") from exc
        connectors[entry_point.name] = _validate(entry_point, loaded)
    return ConnectorRegistry(connectors)
