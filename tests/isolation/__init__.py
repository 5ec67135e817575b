"""Isolation-matrix builders, one module per domain (``tests/isolation/<domain>.py``).

Each module calls ``register_builder`` / ``register_body``; ``load_registry()`` imports them
all, so a domain adds its builders without editing a shared file.
"""

from __future__ import annotations

import importlib
import pkgutil

from tests.isolation.registry import (
    REGISTRY,
    Registry,
    Victim,
    register_body,
    register_builder,
    register_caller,
)

__all__ = [
    "REGISTRY",
    "Registry",
    "Victim",
    "load_registry",
    "register_body",
    "register_builder",
    "register_caller",
]


def load_registry() -> Registry:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "registry":
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY
