"""The scope registry: every scope a protected operation declares in the API catalogue.

Discovery (`scopes_supported`, RFC 8414 2) publishes exactly these, read from the routes of the
running app once, so the list can never claim a scope no operation checks, nor miss one.
"""

from __future__ import annotations

from typing import Any, Final

from puhui.gateway.catalogue import spec_of

__all__ = ["declared_scopes"]

_STATE_KEY: Final = "oauth_scope_registry"


def declared_scopes(app: Any) -> list[str]:
    """Sorted scopes declared by the app's operations (computed once per app)."""
    cached = app.state.get(_STATE_KEY)
    if cached is not None:
        return list(cached)
    scopes: set[str] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            spec = spec_of(getattr(handler, "opt", None) or {})
            if spec is not None:
                scopes |= spec.scopes
    registry = tuple(sorted(scopes))
    app.state[_STATE_KEY] = registry
    return list(registry)
