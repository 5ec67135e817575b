"""`puhui serve --workers N` tells its workers how many they are (shared OAuth state)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from puhui.cli import main


def test_serve_passes_the_worker_count_to_uvicorn_and_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUHUI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("PUHUI_WORKERS", raising=False)
    seen: dict[str, Any] = {}

    def fake_run(app: str, **kwargs: Any) -> None:
        seen.update(kwargs, app=app, env_workers=os.environ.get("PUHUI_WORKERS"))

    monkeypatch.setattr(uvicorn, "run", fake_run)
    result = CliRunner().invoke(main, ["serve", "--port", "8123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["app"] == "puhui.app:create_app"
    assert seen["factory"] is True
    assert seen["workers"] == 2
    assert seen["env_workers"] == "2"  # spawned workers inherit it: DB-shared OAuth stores
    monkeypatch.delenv("PUHUI_WORKERS", raising=False)
