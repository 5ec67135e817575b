"""Persona feature values tell their stories: growth, decline, arrears, thin file, fraud."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from connectors import payroll, procurement, tax, utilities
from connectors.canonical import group_by_enterprise
from connectors.contract import Record
from connectors.features import FeatureResult, compute_features
from connectors.personas import PERSONAS, REFERENCE_DATE, PersonaProfile
from connectors.scenario import ScenarioConnector
from connectors.testing import collect_read, grant_for

CONNECTORS: tuple[ScenarioConnector[Any], ...] = (
    procurement.connector,
    utilities.connector,
    tax.connector,
    payroll.connector,
)


@pytest.fixture(scope="module")
def features(simulators: dict[str, str]) -> dict[PersonaProfile, dict[str, FeatureResult]]:
    """Every feature of every persona, computed from a full read over HTTP."""
    from connectors.scenario import ConnectorRuntime as Runtime

    from puhui.outbound import InMemoryLastGoodStore, UpstreamBreakers

    runtime = Runtime(breakers=UpstreamBreakers(), snapshots=InMemoryLastGoodStore())
    values: dict[PersonaProfile, dict[str, FeatureResult]] = {}
    for subject in PERSONAS:
        records: list[Record] = []
        for connector in CONNECTORS:
            name = connector.spec().name
            credential = (
                {"access_token": "sandbox-tax-token"}
                if name == "tax"
                else {"api_key": f"sandbox-{name}-key"}
            )
            config = connector.spec().parse_config({"base_url": simulators[name], **credential})
            items = frozenset().union(*(s.data_items for s in connector.catalog().streams))
            result = asyncio.run(
                collect_read(
                    connector.with_runtime(runtime),
                    config,
                    grant_for(subject.uscc, {name: items}),
                    connector.catalog().names,
                )
            )
            records.extend(result.records)
        dataset = group_by_enterprise(records)[subject.uscc]
        computed = [
            v
            for connector in CONNECTORS
            for v in compute_features(
                connector.features(), dataset, REFERENCE_DATE, datetime.now(UTC)
            )
        ]
        values[subject.profile] = {v.name: v.value for v in computed}
    return values


def _dec(value: FeatureResult) -> Decimal:
    assert isinstance(value, Decimal)
    return value


def test_healthy_grows_steadily_with_clean_records(
    features: dict[PersonaProfile, dict[str, FeatureResult]],
) -> None:
    f = features[PersonaProfile.HEALTHY]
    assert _dec(f["tax.revenue_trend_12m"]) > Decimal("0.005")
    assert _dec(f["tax.revenue_volatility_12m"]) < Decimal("0.15")
    assert f["tax.credit_grade"] == "A"
    assert f["tax.arrears_outstanding_fen"] == 0
    assert f["utilities.arrears_count"] == 0
    assert _dec(f["utilities.electricity_stability_12m"]) > Decimal("0.85")
    assert _dec(f["payroll.headcount_change_12m"]) > 0
    assert f["payroll.insured_ratio"] == Decimal("1.0000")
    awarded = f["procurement.award_value_12m_fen"]
    assert isinstance(awarded, int)
    assert awarded > 0
    assert _dec(f["procurement.payer_concentration_12m"]) < Decimal("0.6")


def test_declining_shrinks(features: dict[PersonaProfile, dict[str, FeatureResult]]) -> None:
    f = features[PersonaProfile.DECLINING]
    assert _dec(f["tax.revenue_trend_12m"]) < Decimal("-0.015")
    assert _dec(f["payroll.headcount_change_12m"]) < Decimal("-0.15")
    assert f["tax.credit_grade"] == "B"
    assert f["utilities.arrears_count"] == 2  # last month's water and electricity unpaid


def test_arrears_persona_owes_tax_and_utilities(
    features: dict[PersonaProfile, dict[str, FeatureResult]],
) -> None:
    f = features[PersonaProfile.ARREARS]
    assert f["tax.arrears_outstanding_fen"] == 26_300_000 + 980_000 + 7_800_000 + 150_000
    assert f["tax.arrears_count_24m"] == 3
    assert f["tax.credit_grade"] == "C"
    assert f["utilities.arrears_count"] == 8
    owed = f["utilities.arrears_fen"]
    assert isinstance(owed, int)
    assert owed > 0


def test_thin_file_has_no_history_based_features(
    features: dict[PersonaProfile, dict[str, FeatureResult]],
) -> None:
    f = features[PersonaProfile.THIN_FILE]
    for name in (
        "tax.revenue_trend_12m",
        "tax.revenue_volatility_12m",
        "utilities.electricity_stability_12m",
        "payroll.headcount_change_12m",
        "procurement.payer_concentration_12m",
    ):
        assert f[name] is None, name
    assert f["tax.credit_grade"] == "M"
    assert f["procurement.award_value_12m_fen"] == 0


def test_suspicious_shows_its_inconsistencies(
    features: dict[PersonaProfile, dict[str, FeatureResult]],
) -> None:
    f = features[PersonaProfile.SUSPICIOUS]
    healthy = features[PersonaProfile.HEALTHY]
    assert _dec(f["tax.revenue_volatility_12m"]) > 2 * _dec(healthy["tax.revenue_volatility_12m"])
    assert _dec(f["payroll.insured_ratio"]) < Decimal("0.1")
    assert f["procurement.payer_concentration_12m"] == Decimal("1.0000")
