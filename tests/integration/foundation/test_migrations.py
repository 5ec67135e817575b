"""Migrations are the only schema source: upgrade from empty, downgrade to base, and no drift."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from tests.conftest import fresh_database_url, make_settings

from puhui.db.engine import create_engine
from puhui.db.migrate import downgrade, upgrade
from puhui.db.models import metadata


def _diff(connection: Connection) -> list[object]:
    ctx = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(ctx, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(settings: object, fn: object) -> object:
    engine = create_engine(settings)  # type: ignore[arg-type]
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@pytest.fixture
def empty_settings(tmp_path: Path, worker_label: str) -> object:
    return make_settings(fresh_database_url(tmp_path, worker_label + "_migrations"))


def test_upgrade_from_empty_matches_the_models_then_downgrade_to_base(
    empty_settings: object,
) -> None:
    upgrade(empty_settings)  # type: ignore[arg-type]
    assert asyncio.run(_inspect(empty_settings, _diff)) == []
    tables = asyncio.run(_inspect(empty_settings, _tables))
    assert {"tenants", "members", "audit_records"} <= tables  # type: ignore[operator]
    downgrade(empty_settings)  # type: ignore[arg-type]
    assert asyncio.run(_inspect(empty_settings, _tables)) <= {"alembic_version"}  # type: ignore[operator]
    upgrade(empty_settings)  # type: ignore[arg-type]  # and back up again: downgrades are real
    assert asyncio.run(_inspect(empty_settings, _diff)) == []
