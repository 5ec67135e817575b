"""Run Alembic migrations programmatically (`puhui db upgrade|downgrade`, tests, the sandbox)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from puhui.config import Settings

__all__ = ["alembic_config", "downgrade", "migrations_dir", "upgrade"]


def migrations_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if packaged.is_dir():
        return packaged
    # Editable install / source checkout: <repo>/platform/puhui/db/migrate.py -> <repo>/migrations
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    if settings.is_sqlite and settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return cfg


def upgrade(settings: Settings, revision: str = "heads") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings), revision)
