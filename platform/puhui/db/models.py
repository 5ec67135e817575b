"""Imports every domain's ``models`` module so ``metadata`` is complete (Alembic, drift checks).

Domains are found by walking the ``puhui`` package: a new domain's ``models.py`` is picked up
without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil

import puhui
from puhui.db.base import Base

__all__ = ["load_all_models", "metadata"]


def load_all_models() -> None:
    for info in pkgutil.walk_packages(puhui.__path__, prefix="puhui."):
        if info.name.endswith(".models"):
            importlib.import_module(info.name)


load_all_models()
metadata = Base.metadata
