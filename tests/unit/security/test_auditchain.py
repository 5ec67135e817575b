"""Audit hash chain: every single change, deletion, insertion or swap is caught."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.security.auditchain import (
    ChainEntry,
    canonical,
    genesis_hash,
    link_hash,
    seal,
    verify_chain,
)

DAY = date(2026, 3, 14)


def _chain(n: int, day: date = DAY) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    for i in range(n):
        body = {"actor": f"staff-{i % 3}", "action": "loan.approve", "object": f"LA-{i}", "n": i}
        entries.append(seal(entries[-1] if entries else None, day, body))
    return entries


def test_canonical_form_is_key_order_independent() -> None:
    assert canonical({"b": 1, "a": {"d": 2, "c": 3}}) == b'{"a":{"c":3,"d":2},"b":1}'


def test_genesis_depends_on_the_day_and_links_chain() -> None:
    assert genesis_hash(DAY) != genesis_hash(date(2026, 3, 15))
    chain = _chain(3)
    assert chain[0].record["seq"] == 1
    assert chain[0].hash == link_hash(genesis_hash(DAY), chain[0].record)
    assert chain[1].hash == link_hash(chain[0].hash, chain[1].record)


def test_intact_chain_verifies() -> None:
    chain = _chain(10)
    report = verify_chain(chain, day=DAY, expected_head=chain[-1].hash, expected_count=10)
    assert report.ok
    assert report.first_bad_index is None


CHAIN = _chain(12)


@given(st.integers(0, 11), st.sampled_from(["actor", "object", "n", "seq", "day"]))
def test_any_single_field_change_is_caught_at_that_record(index: int, field: str) -> None:
    entries = list(CHAIN)
    record = dict(entries[index].record)
    record[field] = (
        record[field] + 1 if isinstance(record[field], int) else str(record[field]) + "x"
    )
    entries[index] = replace(entries[index], record=record)
    report = verify_chain(entries, day=DAY)
    assert not report.ok
    assert report.first_bad_index == index


@given(st.integers(0, 10))
def test_any_deletion_is_caught(index: int) -> None:
    entries = CHAIN[:index] + CHAIN[index + 1 :]
    report = verify_chain(entries)
    assert not report.ok
    assert report.first_bad_index == index


@given(st.integers(0, 10))
def test_any_adjacent_swap_is_caught(index: int) -> None:
    entries = list(CHAIN)
    entries[index], entries[index + 1] = entries[index + 1], entries[index]
    report = verify_chain(entries)
    assert not report.ok
    assert report.first_bad_index == index


@given(st.integers(0, 12))
def test_any_insertion_is_caught(index: int) -> None:
    forged = seal(CHAIN[index - 1] if index else None, DAY, {"actor": "intruder"})
    entries = [*CHAIN[:index], forged, *CHAIN[index:]]
    report = verify_chain(entries, expected_count=12)
    assert not report.ok


def test_tail_truncation_needs_the_anchor() -> None:
    assert verify_chain(CHAIN[:-1]).ok  # undetectable without an anchor
    report = verify_chain(CHAIN[:-1], expected_head=CHAIN[-1].hash, expected_count=12)
    assert not report.ok
    assert report.reason == "record count differs from anchor"


def test_records_from_another_day_are_refused() -> None:
    mixed = [*CHAIN[:3], *_chain(2, date(2026, 3, 15))]
    report = verify_chain(mixed)
    assert not report.ok
    assert report.first_bad_index == 3


def test_seal_guards_its_own_fields() -> None:
    with pytest.raises(ValueError, match="set by the chain"):
        seal(None, DAY, {"seq": 5})
    with pytest.raises(ValueError, match="another day"):
        seal(CHAIN[-1], date(2026, 3, 15), {"a": 1})
