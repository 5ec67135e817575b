"""Render the committed OpenAPI document deterministically (sorted keys, stable settings)."""

from __future__ import annotations

import json
import tempfile

from puhui.config import load_settings

__all__ = ["render_openapi"]


def render_openapi() -> str:
    from litestar.stores.memory import MemoryStore

    from puhui.app import create_app
    from puhui.gateway.meta import openapi_document

    # A fixed, side-effect-free configuration so the document does not depend on the caller's env.
    with tempfile.TemporaryDirectory() as keys:
        settings = load_settings(
            {}, database_url="sqlite+aiosqlite:///:memory:", log_json=False, key_dir=keys
        )
        app = create_app(settings, session_store=MemoryStore())
        document = openapi_document(app)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
