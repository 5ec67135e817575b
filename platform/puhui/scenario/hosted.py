"""The connectors this platform hosts: loaded once from entry points, looked up by name."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from connectors.registry import ConnectorRegistry, load_connectors
from connectors.scenario import ScenarioConnector

from puhui.errors import FieldError, InvalidRequest

__all__ = ["hosted_connector", "hosted_connectors"]


@lru_cache(maxsize=1)
def hosted_connectors() -> ConnectorRegistry:
    """Every ``puhui.connectors`` entry point; a broken one stops start-up (ConnectorLoadError)."""
    return load_connectors()


def hosted_connector(name: str) -> ScenarioConnector[Any]:
    """The connector called ``name``; the platform persists stream-binding connectors only."""
    found = hosted_connectors().get(name)
    if not isinstance(found, ScenarioConnector):
        raise InvalidRequest(errors=[FieldError("connector", f"no hosted connector {name!r}")])
    return found
