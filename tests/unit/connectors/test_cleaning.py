"""Cleaning (JR/T 0269 6.4.2 b): formats, units, money, de-duplication and quality reports."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from connectors import procurement, tax, utilities
from connectors.cleaning import (
    Deduplicator,
    RowRejected,
    Sighting,
    parse_amount_fen,
    parse_date,
    parse_electricity_kwh,
    parse_period,
    parse_water_m3,
)
from connectors.personas import PersonaProfile, persona
from connectors.scenario import ConnectorRuntime
from connectors.simdata import date_variant, money_variant, period_variant
from connectors.testing import collect_read, grant_for
from hypothesis import given
from hypothesis import strategies as st


@given(st.integers(min_value=0, max_value=10**13), st.integers(min_value=0, max_value=2))
def test_every_rendering_of_an_amount_parses_back_to_the_same_fen(fen: int, variant: int) -> None:
    rendered = money_variant(fen, variant)
    assert parse_amount_fen({"a": rendered}, "a") == fen


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 3))
def test_every_date_format_parses_to_the_same_day(day: date, variant: int) -> None:
    assert parse_date({"d": date_variant(day, variant)}, "d") == day


@given(st.integers(1990, 2099), st.integers(1, 12), st.integers(0, 3))
def test_every_period_format_parses_to_iso_month(year: int, month: int, variant: int) -> None:
    iso = f"{year}-{month:02d}"
    assert parse_period({"p": period_variant(iso, variant)}, "p") == iso


def test_amounts_round_half_up_to_fen_and_reject_nonsense() -> None:
    assert parse_amount_fen({"a": "0.005元"}, "a") == 1
    assert parse_amount_fen({"a": "1.2345678万元"}, "a") == 1_234_568
    assert parse_amount_fen({"a": 12, "u": "万元"}, "a", unit_field="u") == 12_000_000
    for bad in ("12 dollars", "", None, True, "-5"):
        with pytest.raises(RowRejected):
            parse_amount_fen({"a": bad}, "a")


def test_units_are_unified_to_kwh_and_cubic_metres() -> None:
    assert parse_electricity_kwh({"q": "1.5", "u": "MWh"}, "q", "u") == Decimal("1500.000")
    assert parse_electricity_kwh({"q": 320, "u": "度"}, "q", "u") == Decimal("320.000")
    assert parse_water_m3({"q": 2500, "u": "L"}, "q", "u") == Decimal("2.500")
    assert parse_water_m3({"q": "7", "u": "吨"}, "q", "u") == Decimal("7.000")
    with pytest.raises(RowRejected, match="unknown_unit"):
        parse_water_m3({"q": 1, "u": "gallon"}, "q", "u")


def test_deduplicator_tells_duplicates_from_corrections() -> None:
    dedup = Deduplicator()
    assert dedup.observe("k", "h1") is Sighting.NEW
    assert dedup.observe("k", "h1") is Sighting.DUPLICATE
    assert dedup.observe("k", "h2") is Sighting.SUPERSEDES


@pytest.mark.parametrize(
    ("connector", "stream", "profile", "rejected", "duplicates"),
    [
        (tax.connector, "vat_returns", PersonaProfile.ARREARS, {"missing": 1}, 1),
        (utilities.connector, "electricity_usage", PersonaProfile.SUSPICIOUS, {"missing": 1}, 1),
        (procurement.connector, "awards", PersonaProfile.DECLINING, {"missing": 1}, 0),
        (procurement.connector, "payments_received", PersonaProfile.HEALTHY, {}, 1),
    ],
)
def test_dirty_upstream_data_is_cleaned_and_reported(
    connector: object,
    stream: str,
    profile: PersonaProfile,
    rejected: dict[str, int],
    duplicates: int,
    simulators: dict[str, str],
    runtime: ConnectorRuntime,
) -> None:
    from connectors.scenario import ScenarioConnector

    assert isinstance(connector, ScenarioConnector)
    name = connector.spec().name
    subject = persona(profile)
    credential = (
        {"access_token": "sandbox-tax-token"}
        if name == "tax"
        else {"api_key": f"sandbox-{name}-key"}
    )
    config = connector.spec().parse_config({"base_url": simulators[name], **credential})
    items = connector.catalog().stream(stream).data_items
    result = asyncio.run(
        collect_read(
            connector.with_runtime(runtime),
            config,
            grant_for(subject.uscc, {name: items}),
            [stream],
        )
    )
    report = result.checkpoints[-1].quality
    assert report.rows_in == report.rows_accepted + report.rows_rejected + report.duplicates_removed
    assert dict(report.rejection_reasons) == rejected
    assert report.duplicates_removed == duplicates
    assert len(result.records) == report.rows_accepted
    if rejected:
        assert report.rejection_samples[0].reason.startswith("missing")
        assert max(report.null_per_mille.values()) > 0
    # Every accepted record is normalised: ISO periods/dates, integer fen, canonical units.
    for record in result.records:
        for value in (getattr(record.data, f) for f in record.data.__struct_fields__):
            assert not isinstance(value, float)
            assert not (isinstance(value, str) and ("万" in value or "年" in value))
