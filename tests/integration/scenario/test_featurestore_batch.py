"""The feature store's batch reads agree exactly with its single read, enterprise by enterprise."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from litestar import Litestar
from tests.lending_builders import new_uscc, store_features

from puhui.clock import FrozenClock, utcnow
from puhui.lending.service import scenario_features, scenario_features_many
from puhui.scenario.featurestore import (
    latest_features,
    latest_features_many,
    latest_values_many,
)
from puhui.scenario.models import FeatureRow

pytestmark = pytest.mark.anyio


def _row(uscc: str, name: str, kind: str, text: str | None, age: timedelta) -> FeatureRow:
    return FeatureRow(
        uscc=uscc,
        data_source=name.split(".", 1)[0],
        name=name,
        version=1,
        value_kind=kind,
        value_text=text,
        as_of=date(2027, 5, 31),
        computed_at=utcnow() - timedelta(hours=1),
        reason="no_data" if kind == "none" else None,
        data_as_of=utcnow() - age,
        source_records=[f"{name.split('.', 1)[0]}.stream|{uscc}|{m:02d}" for m in range(3)],
    )


async def _store(app: Litestar, n: int) -> list[str]:
    """``n`` enterprises with differing features, sources, kinds and ages of data."""
    usccs = [new_uscc() for _ in range(n)]
    day = timedelta(days=1)  # one feature's data is dated ahead: its staleness is none, not < 0
    async with app.state.db.unit_of_work() as session:
        for i, uscc in enumerate(usccs):
            session.add_all(
                [
                    _row(uscc, "tax.credit_grade", "code", "AB"[i % 2], timedelta(days=i)),
                    _row(uscc, "tax.revenue_trend_12m", "decimal", f"0.{i + 10}", timedelta(1)),
                    _row(uscc, "tax.declared_revenue_12m_fen", "int", str(900_000_000 + i), -day),
                    _row(uscc, "payroll.headcount", "int", str(i), timedelta(hours=i)),
                    _row(uscc, "payroll.insured_ratio", "none", None, timedelta(hours=3)),
                ][: 2 + i % 4]  # some enterprises have one source, some three
            )  # fmt: skip
    return usccs


async def test_batch_reads_agree_with_the_single_read(app: Litestar, frozen: FrozenClock) -> None:
    stored = await _store(app, 6)
    absent = new_uscc()
    asked = [stored[3], absent, *stored, stored[0]]  # duplicates and an unknown enterprise
    async with app.state.db.unit_of_work() as session:
        single = {uscc: await latest_features(session, uscc) for uscc in asked}
        many = await latest_features_many(session, asked)
        values = await latest_values_many(session, asked)
        lookups = {uscc: await scenario_features(session, uscc) for uscc in asked}
        batch_lookups = await scenario_features_many(session, asked)
    assert list(many) == list(dict.fromkeys(asked))
    assert many == single
    assert not many[absent].values
    assert not many[absent].staleness_by_source
    assert len({len(many[u].values) for u in stored}) == 4  # the sets really differ
    assert many[stored[1]].staleness_by_source["tax"] == timedelta(days=1)  # oldest of the source
    assert many[stored[3]].staleness_by_source["tax"] == timedelta(days=3)
    for uscc in asked:
        assert values[uscc].values == {n: f.value for n, f in single[uscc].values.items()}
        assert values[uscc].staleness_by_source == single[uscc].staleness_by_source
    assert batch_lookups == lookups
    assert batch_lookups[absent] is None
    third = lookups[stored[2]]
    assert third is not None
    assert third.values["tax.declared_revenue_12m_fen"] == 900_000_002
    assert third.values["tax.revenue_trend_12m"] == Decimal("0.12")


async def test_batch_reads_span_several_statements(app: Litestar, frozen: FrozenClock) -> None:
    """More enterprises than one IN list holds: every chunk is read, none is lost or doubled."""
    stored = await _store(app, 3)
    asked = [new_uscc() for _ in range(1_200)]
    asked[10], asked[600], asked[1_150] = stored
    async with app.state.db.unit_of_work() as session:
        many = await latest_features_many(session, asked)
        batch_lookups = await scenario_features_many(session, asked)
        for uscc in stored:
            assert many[uscc] == await latest_features(session, uscc)
            assert batch_lookups[uscc] == await scenario_features(session, uscc)
    assert len(many) == len(batch_lookups) == 1_200
    assert sum(1 for f in many.values() if f.values) == 3
    assert sum(1 for f in batch_lookups.values() if f is not None) == 3


async def test_a_batch_read_sees_the_current_computation(
    app: Litestar, frozen: FrozenClock
) -> None:
    """Features replaced by a new computation are what the batch reads, as the single read."""
    (uscc,) = await _store(app, 1)
    await store_features(
        app, uscc, {"tax.credit_grade": "C", "utilities.arrears_count": 2},
        data_as_of=utcnow() - timedelta(days=9),
    )  # fmt: skip
    async with app.state.db.unit_of_work() as session:
        many = await latest_features_many(session, [uscc])
        single = await latest_features(session, uscc)
    assert many[uscc] == single
    assert many[uscc].values["tax.credit_grade"].value == "C"
    assert many[uscc].staleness_by_source == {
        "tax": timedelta(days=9),
        "utilities": timedelta(days=9),
    }
