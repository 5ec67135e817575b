"""The embedded audit writer binds values itself (one multi-row INSERT); they must be exactly
what SQLAlchemy would bind, or rows read back would hash differently from what was sealed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from puhui.audit.models import AuditRecord
from puhui.audit.writer import _SQLITE_BINDERS, _multi_row_insert

SAMPLES: dict[str, Any] = {
    "id": uuid.uuid4(),
    "occurred_at": datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC),
    "created_at": datetime(2026, 3, 4, 13, 6, 7, tzinfo=timezone(timedelta(hours=8))),
    "updated_at": datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    "actor_tenant_id": uuid.uuid4(),
    "actor_member_id": uuid.uuid4(),
    "target_tenant_id": uuid.uuid4(),
    "consent_id": uuid.uuid4(),
    "details": {"method": "GET", "problem": "signature-invalid", "名": "值", "n": [1, 2.5, None]},
    "day": date(2026, 3, 4),
    "action": "api.GetMyTenant",
    "status_code": 200,
}


@pytest.mark.parametrize("name", [name for name, _ in _SQLITE_BINDERS])
def test_binder_matches_sqlalchemy(name: str) -> None:
    dialect = sqlite.dialect()
    column = AuditRecord.__table__.c[name]
    theirs = column.type.dialect_impl(dialect).bind_processor(dialect)
    ours = dict(_SQLITE_BINDERS)[name]
    value = SAMPLES.get(name)
    if value is None:  # plain text or a number: neither side converts it
        assert ours is None
        assert theirs is None
        return
    expected = theirs(value) if theirs is not None else value
    assert (ours(value) if ours is not None else value) == expected


def test_every_column_is_inserted_once() -> None:
    sql = _multi_row_insert(3)
    assert sql.count("(?,") == 3
    for column in AuditRecord.__table__.columns:
        assert sql.count(f'"{column.name}"') == 1
