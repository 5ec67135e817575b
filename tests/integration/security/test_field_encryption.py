"""C2 data at rest: a seeded ID number is nowhere in the database in clear, exact lookups still
work through the blind index, and `puhui keys rotate-data` re-encrypts every sealed value."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from tests.builders import unique
from tests.conftest import PG_URL, fresh_database_url, make_settings

from puhui.cli import main
from puhui.config import Settings
from puhui.customers.models import CustomerRole, CustomerStatus, CustomerUser, Enterprise
from puhui.db.engine import create_engine
from puhui.db.migrate import upgrade
from puhui.db.session import SessionFactory
from puhui.security.keyring import data_keyring, install_keyring
from puhui.security.sealed import blind_index

SEEDED_ID = "11010519491231002X"
SEEDED_PHONE = "13912345678"


@pytest.fixture
def vault(tmp_path: Path, worker_label: str, settings: Settings) -> Iterator[Settings]:
    """Its own database and key directory: rotation adds key versions."""
    own = make_settings(
        fresh_database_url(tmp_path, f"{worker_label}_vault"), key_dir=tmp_path / "keys"
    )
    upgrade(own)
    install_keyring(data_keyring(own))
    yield own
    install_keyring(data_keyring(settings))  # the suite's keyring again


async def _seed(settings: Settings) -> uuid.UUID:
    engine = create_engine(settings)
    try:
        async with SessionFactory(engine).unit_of_work() as session:
            enterprise = Enterprise(
                uscc=unique("91110000")[:18].ljust(18, "0"),
                name="Test SME",
                legal_representative="Z",
            )
            session.add(enterprise)
            await session.flush()
            customer = CustomerUser(
                enterprise_id=enterprise.id,
                role=CustomerRole.LEGAL_REPRESENTATIVE,
                status=CustomerStatus.ACTIVE,
            )
            customer.id_number = SEEDED_ID
            customer.phone = SEEDED_PHONE
            customer.name = "张三"
            session.add(customer)
        return customer.id
    finally:
        await engine.dispose()


async def _stored(settings: Settings) -> bytes:
    """Everything the database holds for customers, as bytes an attacker with a dump would see."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            if PG_URL:
                rows = await conn.execute(text("SELECT t::text FROM customer_users t"))
                return "\n".join(r[0] for r in rows).encode()
            await conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
    finally:
        await engine.dispose()
    path = settings.sqlite_path
    assert path is not None
    files = [path, Path(f"{path}-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def _lookup(settings: Settings) -> CustomerUser | None:
    engine = create_engine(settings)
    try:
        async with SessionFactory(engine).unit_of_work() as session:
            return await session.scalar(
                select(CustomerUser).where(
                    CustomerUser.id_number_bidx == blind_index("id_number", SEEDED_ID)
                )
            )
    finally:
        await engine.dispose()


def test_seeded_id_number_is_not_stored_in_clear(vault: Settings) -> None:
    asyncio.run(_seed(vault))
    stored = asyncio.run(_stored(vault))
    assert b"customer_users" in stored or PG_URL  # the dump really holds the table
    assert SEEDED_ID.encode() not in stored
    assert SEEDED_PHONE.encode() not in stored
    assert "张三".encode() not in stored
    found = asyncio.run(_lookup(vault))
    assert found is not None
    assert found.id_number == SEEDED_ID


def test_rotate_data_reencrypts_every_sealed_value_and_resumes(
    vault: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = asyncio.run(_seed(vault))
    monkeypatch.setenv("PUHUI_DATABASE_URL", vault.database_url)
    monkeypatch.setenv("PUHUI_KEY_DIR", str(vault.key_dir))
    runner = CliRunner()

    rotated = runner.invoke(main, ["keys", "rotate-data", "--batch-size", "1"])
    assert rotated.exit_code == 0, rotated.output
    ring = data_keyring(vault)
    assert ring.current == 2
    install_keyring(ring)

    async def read() -> CustomerUser:
        engine = create_engine(vault)
        try:
            async with SessionFactory(engine).unit_of_work() as session:
                row = await session.get(CustomerUser, customer_id)
                assert row is not None
                return row
        finally:
            await engine.dispose()

    row = asyncio.run(read())
    for column in (row.id_number_enc, row.phone_enc, row.name_enc):
        assert column is not None
        assert column.startswith("v2:")
    assert row.id_number == SEEDED_ID
    assert row.phone == SEEDED_PHONE

    again = runner.invoke(main, ["keys", "rotate-data", "--resume"])
    assert again.exit_code == 0, again.output
    assert "0 rows re-encrypted" in again.output
