"""The connector contract: manifests, catalogs, secrets, personas and consent grants."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from connectors import payroll, procurement, tax, utilities
from connectors.contract import (
    Connector,
    ConnectorSpec,
    ConsentGrant,
    FieldClass,
    ScenarioCategory,
    Shape,
    Volatility,
)
from connectors.personas import PERSONAS, PersonaProfile
from connectors.scenario import ScenarioConnector
from connectors.uscc import is_valid_uscc, uscc_check_digit
from hypothesis import given
from hypothesis import strategies as st

from puhui.clock import FrozenClock, set_clock

BUILT_INS: tuple[ScenarioConnector[Any], ...] = (
    procurement.connector,
    utilities.connector,
    tax.connector,
    payroll.connector,
)


@pytest.mark.parametrize("connector", BUILT_INS, ids=lambda c: c.spec().name)
def test_built_in_manifests_and_catalogs_are_valid(connector: ScenarioConnector[Any]) -> None:
    assert isinstance(connector, Connector)
    spec = connector.spec()
    assert spec.problems() == []
    assert connector.catalog().problems() == []
    assert spec.secret_fields
    assert spec.secret_fields <= set(spec.config_schema.__struct_fields__)
    for stream in connector.catalog().streams:
        assert stream.record_type.__struct_config__.frozen
        assert "uscc" in stream.record_type.__struct_fields__
    for feature in connector.features():
        assert feature.spec.name.startswith(f"{spec.name}.")
        assert feature.spec.version >= 1
        assert all(s.split(".")[0] == spec.name for s in feature.spec.source_streams)


def test_scenario_categories_follow_clause_7_2_2() -> None:
    categories = {c.spec().name: c.spec().category for c in BUILT_INS}
    assert categories == {
        "procurement": ScenarioCategory.PUBLIC_SERVICE,
        "utilities": ScenarioCategory.PRODUCTION_OPERATION,
        "tax": ScenarioCategory.PUBLIC_SERVICE,
        "payroll": ScenarioCategory.PRODUCTION_OPERATION,
    }


def test_stream_attributes_state_class_and_shape() -> None:
    grades = tax.connector.catalog().stream("credit_grades")
    assert grades.volatility is Volatility.STATIC
    assert grades.shape is Shape.CROSS_SECTION
    vat = tax.connector.catalog().stream("vat_returns")
    assert vat.classification_of("declared_revenue_fen") is FieldClass.C2
    assert vat.shape is Shape.TIME_SERIES


def test_config_is_validated_and_secrets_are_flagged() -> None:
    spec = tax.connector.spec()
    assert spec.secret_fields == frozenset({"access_token"})
    with pytest.raises(msgspec.ValidationError):
        spec.parse_config({"base_url": "http://x", "access_token": ""})
    config = spec.parse_config(b'{"base_url": "http://x", "access_token": "t"}')
    assert isinstance(config, tax.TaxConfig)


def test_a_bad_manifest_lists_its_problems() -> None:
    bad = ConnectorSpec(
        name="Bad Name",
        version="1",
        title=" ",
        category=ScenarioCategory.LIFE,
        data_source="",
        auth_kind=tax.connector.spec().auth_kind,
        modes=frozenset(),
        config_schema=dict,  # type: ignore[arg-type]
    )
    assert len(bad.problems()) == 6


def test_five_personas_with_valid_codes_cover_every_profile() -> None:
    assert {p.profile for p in PERSONAS} == set(PersonaProfile)
    assert all(is_valid_uscc(p.uscc) for p in PERSONAS)
    assert len({p.uscc for p in PERSONAS}) == 5


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17))
def test_any_single_character_change_breaks_the_check_digit(body: str) -> None:
    code = body + uscc_check_digit(body)
    assert is_valid_uscc(code)
    wrong = "0" if code[-1] != "0" else "1"
    assert not is_valid_uscc(code[:-1] + wrong)


def test_consent_grant_lapses_at_expiry_and_on_revocation() -> None:
    start = datetime(2025, 7, 1, tzinfo=UTC)
    clock = FrozenClock(start)
    previous = set_clock(clock)
    revoked = False

    async def alive() -> bool:
        return not revoked

    try:
        grant = ConsentGrant(
            consent_id="c-1",
            subject_uscc=PERSONAS[0].uscc,
            data_items={"tax": frozenset({"vat_returns"})},
            valid_until=start + timedelta(days=30),
            is_still_valid=alive,
        )
        assert grant.permits("tax", {"vat_returns"})
        assert grant.missing_items("tax", {"vat_returns", "tax_arrears"}) == {"tax_arrears"}
        assert not grant.permits("utilities", {"vat_returns"})
        assert asyncio.run(grant.still_valid())
        revoked = True
        assert not asyncio.run(grant.still_valid())
        revoked = False
        clock.advance(timedelta(days=30))
        assert not asyncio.run(grant.still_valid())
    finally:
        set_clock(previous)


def test_consent_grant_requires_aware_expiry() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ConsentGrant(
            consent_id="c",
            subject_uscc=PERSONAS[0].uscc,
            data_items={},
            valid_until=datetime(2030, 1, 1),
        )
