"""The audit writer's short road must seal and bind exactly what the generic one does.

The chain bytes are pinned: existing chains and `puhui audit verify` depend on them, so the
literals below were computed with the implementation before the fast path existed.
"""

from __future__ import annotations

import copy
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from tests.conftest import make_settings

from puhui.audit import writer as audit_writer
from puhui.audit.chain import CHAINED_COLUMNS, ChainRecord, chain_body, chain_record
from puhui.audit.models import AuditRecord
from puhui.audit.verify import verify_days
from puhui.db.migrate import upgrade
from puhui.security.auditchain import ChainCursor, canonical, genesis_hash, link_hash, seal

DAY = date(2026, 3, 14)
FULL: dict[str, Any] = {
    "id": uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
    "occurred_at": datetime(2026, 3, 14, 1, 2, 3, 456789, tzinfo=UTC),
    "action": "api.GetMyTenant",
    "outcome": "success",
    "actor_tenant_id": uuid.UUID("11111111-2222-3333-4444-555555555555"),
    "actor_member_id": uuid.UUID("66666666-7777-8888-9999-aaaaaaaaaaaa"),
    "actor_client_id": "client-1",
    "target_tenant_id": uuid.UUID("11111111-2222-3333-4444-555555555555"),
    "target": "tenant/名",
    "api_id": "OP000000021295300",
    "api_level": "A1",
    "consent_id": uuid.UUID("bbbbbbbb-cccc-dddd-eeee-ffffffffffff"),
    "status_code": 200,
    "latency_us": 912,
    "request_id": 'req-é"\\\n',
    "client_ip": "127.0.0.1",
    "reason": None,
    "details": {
        "method": "GET",
        "problem": "signature-invalid",
        "名": "值",
        "n": [1, 2.5, None, True],
        "z": {"b": 1, "a": "\u2028"},
    },
    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    "unrelated": 5,
}
SPARSE: dict[str, Any] = {
    "id": uuid.UUID(int=1),
    "occurred_at": datetime(2026, 3, 14, tzinfo=timezone(timedelta(hours=8))),
    "action": "event.x",
    "outcome": "failure",
}
FULL_CANONICAL = (
    b'{"action":"api.GetMyTenant","actor_client_id":"client-1","actor_member_id":'
    b'"66666666-7777-8888-9999-aaaaaaaaaaaa","actor_tenant_id":'
    b'"11111111-2222-3333-4444-555555555555","api_id":"OP000000021295300","api_level":"A1",'
    b'"client_ip":"127.0.0.1","consent_id":"bbbbbbbb-cccc-dddd-eeee-ffffffffffff",'
    b'"day":"2026-03-14","details":{"method":"GET","n":[1,2.5,null,true],'
    b'"problem":"signature-invalid","z":{"a":"\xe2\x80\xa8","b":1},'
    b'"\xe5\x90\x8d":"\xe5\x80\xbc"},"id":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",'
    b'"latency_us":912,"occurred_at":"2026-03-14T01:02:03.456789+00:00","outcome":"success",'
    b'"reason":null,"request_id":"req-\xc3\xa9\\"\\\\\\n","seq":1,"status_code":200,'
    b'"target":"tenant/\xe5\x90\x8d","target_tenant_id":"11111111-2222-3333-4444-555555555555"}'
)
FULL_HASH = "e7812df27419b65ad5e88e5c45ea533136a207160930cf695793e68f6253e900"
SPARSE_CANONICAL = (
    b'{"action":"event.x","actor_client_id":null,"actor_member_id":null,"actor_tenant_id":null,'
    b'"api_id":null,"api_level":null,"client_ip":null,"consent_id":null,"day":"2026-03-14",'
    b'"details":{},"id":"00000000-0000-0000-0000-000000000001","latency_us":null,'
    b'"occurred_at":"2026-03-14T00:00:00.000000+08:00","outcome":"failure","reason":null,'
    b'"request_id":null,"seq":2,"status_code":null,"target":null,"target_tenant_id":null}'
)
SPARSE_HASH = "9b750e41356a5ff47661c0dc6b1d2d64110e8c93f21dd467367f0dfa65c2583a"
NOW = datetime(2026, 3, 14, 10, 0, 0, 123, tzinfo=UTC)


# ----------------------------------------------------------------- the pinned chain bytes
def test_chain_bytes_and_hashes_are_pinned() -> None:
    first = seal(None, DAY, chain_body(FULL))
    second = seal(first, DAY, chain_body(SPARSE))
    assert canonical(first.record) == FULL_CANONICAL
    assert first.hash == FULL_HASH
    assert link_hash(genesis_hash(DAY), first.record) == FULL_HASH
    assert canonical(second.record) == SPARSE_CANONICAL
    assert second.hash == SPARSE_HASH


def test_chain_record_gives_the_pinned_bytes() -> None:
    assert chain_record(FULL, "2026-03-14", 1) == FULL_CANONICAL
    assert chain_record(SPARSE, "2026-03-14", 2) == SPARSE_CANONICAL


def test_writer_chain_gives_the_pinned_hashes() -> None:
    chain = ChainCursor(DAY, None)
    assert audit_writer._append(chain, FULL) == (1, FULL_HASH)
    assert audit_writer._append(chain, SPARSE) == (2, SPARSE_HASH)
    resumed = ChainCursor(DAY, seal(None, DAY, chain_body(FULL)))
    assert audit_writer._append(resumed, SPARSE) == (2, SPARSE_HASH)


def test_usual_row_binds_the_pinned_hash() -> None:
    row = {k: v for k, v in FULL.items() if k in CHAINED_COLUMNS}
    row["details"] = dict(row["details"])
    params: list[Any] = []
    binder = audit_writer._SqliteBinder(ChainCursor(DAY, None), NOW)
    binder.bind(row, params)
    assert "day" not in row  # the short road was taken (the generic one sets the chain columns)
    assert params[_column("chain_hash")] == FULL_HASH


def test_chain_record_fields_are_the_chained_columns() -> None:
    assert ChainRecord.__struct_fields__ == (*CHAINED_COLUMNS, "day", "seq")


def test_fast_binding_matches_the_table() -> None:
    assert audit_writer._FAST_BINDING
    split = {"id", "occurred_at", "details", *audit_writer._UUID_COLUMNS, *_PLAIN_COLUMNS}
    assert split == set(CHAINED_COLUMNS)


# ----------------------------------------------------------------- differential: chain bytes
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_zones = st.sampled_from([timezone(timedelta(hours=8)), timezone(timedelta(0), "Z")])
_UUID_COLUMNS = ("actor_tenant_id", "actor_member_id", "target_tenant_id", "consent_id")
_PLAIN_COLUMNS = audit_writer._PLAIN_COLUMNS
_ODD_VALUES = st.one_of(st.booleans(), st.uuids(), st.floats(allow_nan=False), st.just(NOW))


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    """The gateway's usual rows, half the time with one odd value (for the generic road)."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    row: dict[str, Any] = {"occurred_at": moment.replace(tzinfo=UTC)}
    tenant = draw(st.uuids())
    for name in _UUID_COLUMNS:
        kind = draw(st.integers(0, 3))
        if kind < 3:  # else absent
            row[name] = (tenant, draw(st.uuids()), None)[kind]  # often one tenant twice
    for name in _PLAIN_COLUMNS:
        if draw(st.integers(0, 3)):  # else absent
            row[name] = draw(st.one_of(st.none(), st.text(max_size=12), st.integers()))
    row["details"] = draw(
        st.one_of(st.just({"method": "GET"}), st.dictionaries(st.text(max_size=6), _json))
    )
    if draw(st.booleans()):
        row["id"] = draw(st.uuids())
    odd = draw(st.integers(0, 15))
    if odd == 1:
        row["occurred_at"] = moment.replace(tzinfo=draw(_zones))
    elif odd == 2:
        row["occurred_at"] = moment  # naive
    elif odd == 3:
        row[draw(st.sampled_from(_UUID_COLUMNS))] = draw(st.sampled_from(["not-a-uuid", 7]))
    elif odd == 4:
        row[draw(st.sampled_from(_PLAIN_COLUMNS))] = draw(_ODD_VALUES)
    elif odd == 5:
        row["details"] = draw(st.sampled_from([None, [("a", 1)], {}]))
    elif odd == 6:
        del row["details"]
    elif odd == 7:
        row["id"] = draw(st.sampled_from([None, "nope", str(uuid.UUID(int=3))]))
    elif odd == 8:
        key = draw(st.sampled_from(["created_at", "updated_at", "unrelated", "day", "seq"]))
        row[key] = draw(st.sampled_from([NOW, None, 3]))
    return row


@given(rows(), st.integers(1, 10**9))
@settings(max_examples=400)
def test_chain_record_is_canonical_of_the_sealed_body(row: dict[str, Any], seq: int) -> None:
    body = chain_body(row)
    assert chain_record(row, DAY.isoformat(), seq) == canonical(
        {**body, "day": DAY.isoformat(), "seq": seq}
    )


# ----------------------------------------------------------------- differential: bound rows
def _column(name: str) -> int:
    return [n for n, _ in audit_writer._SQLITE_BINDERS].index(name)


def _outcome(bind_all: Any, head: Any) -> tuple[Any, ...]:
    """Bind a batch on a fresh chain: the parameters and chain state, or the error raised."""
    chain = ChainCursor(DAY, head)
    binder = audit_writer._SqliteBinder(chain, NOW)
    params: list[Any] = []
    try:
        bind_all(binder, params)
    except Exception as exc:  # both roads must fail alike
        return ("raised", type(exc), str(exc))
    return ("bound", params, chain.seq, chain.hash)


@given(st.lists(rows(), min_size=1, max_size=4), st.booleans())
@settings(max_examples=400)
def test_usual_and_generic_binding_agree(batch: list[dict[str, Any]], resume: bool) -> None:
    head = seal(None, DAY, chain_body(SPARSE)) if resume else None
    fast_rows = copy.deepcopy(batch)
    fast = _outcome(lambda b, p: [b.bind(r, p) for r in fast_rows], head)
    generic_rows = copy.deepcopy(batch)
    if fast[0] == "bound":
        # A missing id is drawn while binding: give the generic road the same one.
        width = len(audit_writer._SQLITE_BINDERS)
        for index, row in enumerate(generic_rows):
            if "id" not in row:
                drawn = uuid.UUID(hex=fast[1][index * width + _column("id")])
                assert drawn.version == 7
                assert drawn.variant == uuid.RFC_4122
                row["id"] = drawn
    generic = _outcome(lambda b, p: [b._bind_generic(r, p) for r in generic_rows], head)
    assert fast == generic


USUAL: dict[str, Any] = {
    "occurred_at": NOW,
    "action": "api.X",
    "outcome": "success",
    "actor_tenant_id": uuid.UUID(int=5),
    "target_tenant_id": None,
    "status_code": 200,
    "details": {"method": "GET"},
}


@pytest.mark.parametrize(
    ("row", "short"),
    [
        (USUAL, True),
        ({**USUAL, "id": uuid.UUID(int=9)}, True),
        ({**USUAL, "occurred_at": NOW.astimezone(timezone(timedelta(hours=8)))}, False),
        ({**USUAL, "occurred_at": NOW.replace(tzinfo=None)}, False),
        ({**USUAL, "status_code": True}, False),
        ({**USUAL, "actor_tenant_id": str(uuid.UUID(int=5))}, False),
        ({**USUAL, "details": None}, False),
        ({**USUAL, "details": {}}, True),
        ({**USUAL, "created_at": NOW}, False),
        ({**USUAL, "id": None}, False),
    ],
)
def test_which_rows_take_the_short_road(
    row: dict[str, Any], short: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    generic: list[dict[str, Any]] = []
    monkeypatch.setattr(
        audit_writer._SqliteBinder, "_bind_generic", lambda _self, r, _p: generic.append(r)
    )
    binder = audit_writer._SqliteBinder(ChainCursor(DAY, None), NOW)
    binder.bind(dict(row), [])
    assert (not generic) is short


def test_drawn_ids_are_distinct_time_ordered_uuids() -> None:
    binder = audit_writer._SqliteBinder(ChainCursor(DAY, None), NOW)
    before_ms = time.time_ns() // 1_000_000
    drawn = [binder._new_id() for _ in range(200)]  # crosses the 64-id draw boundary
    after_ms = time.time_ns() // 1_000_000
    assert len({h for h, _ in drawn}) == 200
    for hex32, text in drawn:
        value = uuid.UUID(hex=hex32)
        assert str(value) == text
        assert value.hex == hex32
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert before_ms <= value.int >> 80 <= after_ms  # RFC 9562: 48 bits of Unix time in ms


# ----------------------------------------------------------------- end to end on SQLite
@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    """A fresh SQLite database whose schema comes from the migrations, as everywhere."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    upgrade(make_settings(url))
    return url


@pytest.mark.anyio
async def test_embedded_writer_round_trip(migrated_sqlite: str) -> None:
    engine = create_async_engine(migrated_sqlite)
    writer = audit_writer.AuditWriter(engine, flush_ms=0)
    tenant = uuid.uuid4()

    def batch() -> list[dict[str, Any]]:
        return [
            {
                "occurred_at": datetime.now(UTC),
                "action": "api.GetMyTenant",
                "outcome": "success",
                "actor_tenant_id": tenant,
                "actor_client_id": "c",
                "target_tenant_id": tenant,
                "status_code": 200,
                "latency_us": 10,
                "details": {"method": "GET", "名": [1, 2.5]},
            },
            {  # takes the generic road (a bookkeeping column given)
                "id": uuid.uuid4(),
                "occurred_at": datetime.now(UTC),
                "created_at": datetime.now(UTC),
                "action": "event.x",
                "outcome": "failure",
            },
            {"occurred_at": datetime.now(UTC), "action": "api.Y", "outcome": "refused"},
        ]

    submitted = batch() + batch()
    try:
        for row in submitted:  # the first creates the day's head, the others move it
            await writer.write(row)
        async with engine.connect() as conn:
            verdicts = await verify_days(conn)
            stored = [
                dict(r._mapping)
                for r in await conn.execute(select(AuditRecord.__table__).order_by("seq"))
            ]
    finally:
        await writer.close()
        await engine.dispose()
    assert [(v.ok, v.reason) for v in verdicts] == [(True, None)]
    assert [r["seq"] for r in stored] == [1, 2, 3, 4, 5, 6]
    for row, sent in zip(stored, submitted, strict=True):
        assert row["occurred_at"] == sent["occurred_at"]
        assert row["details"] == sent.get("details", {})
        assert row["actor_tenant_id"] == sent.get("actor_tenant_id")
