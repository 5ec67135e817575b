"""Each built-in reads its personas over real HTTP, paginates, resumes and obeys consent."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from connectors import payroll, procurement, tax, utilities
from connectors.contract import ConfigError, ConnectionMode, ConsentDenied, Record, SyncState
from connectors.personas import PERSONAS, PersonaProfile, persona
from connectors.scenario import ConnectorRuntime, ScenarioConnector
from connectors.testing import collect_read, grant_for, simulator_requests

CONNECTORS: dict[str, ScenarioConnector[Any]] = {
    "procurement": procurement.connector,
    "utilities": utilities.connector,
    "tax": tax.connector,
    "payroll": payroll.connector,
}
HEADERS = {
    "procurement": {"x-api-key": "sandbox-procurement-key"},
    "utilities": {"x-api-key": "sandbox-utilities-key"},
    "tax": {"authorization": "Bearer sandbox-tax-token"},
    "payroll": {"x-api-key": "sandbox-payroll-key"},
}


def config_for(name: str, base_url: str, **extra: Any) -> msgspec.Struct:
    credential = {"tax": {"access_token": "sandbox-tax-token"}}.get(
        name, {"api_key": f"sandbox-{name}-key"}
    )
    return CONNECTORS[name].spec().parse_config({"base_url": base_url, **credential, **extra})


def everything(name: str) -> dict[str, frozenset[str]]:
    streams = CONNECTORS[name].catalog().streams
    return {name: frozenset().union(*(s.data_items for s in streams))}


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_each_connector_reads_every_persona_with_provenance(
    name: str, simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    connector = CONNECTORS[name].with_runtime(runtime)
    config = config_for(name, simulators[name])
    streams = connector.catalog().names
    for subject in PERSONAS:
        result = asyncio.run(
            collect_read(connector, config, grant_for(subject.uscc, everything(name)), streams)
        )
        assert result.errors == ()
        for record in result.records:
            assert record.provenance.collection_object == subject.uscc
            assert record.provenance.data_source == name
            assert record.provenance.collection_channel is ConnectionMode.PULL_API
            assert record.provenance.consent_id == f"consent-{subject.uscc[-6:]}"
            assert record.provenance.data_type == f"{name}.{record.stream}"
            assert not record.provenance.degraded
        keys = [(r.stream, r.key) for r in result.records]
        assert len(keys) == len(set(keys)), "a read never yields the same record twice"
        completed = {c.stream for c in result.checkpoints if c.complete}
        assert completed == set(streams)
        if subject.profile is not PersonaProfile.THIN_FILE or name != "procurement":
            assert result.records, f"{name} has data for {subject.profile}"


def test_check_reports_bad_credentials_and_good_ones(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    connector = tax.connector.with_runtime(runtime)
    good = asyncio.run(connector.check(config_for("tax", simulators["tax"])))
    bad = asyncio.run(
        connector.check(tax.TaxConfig(base_url=simulators["tax"], access_token="stolen"))
    )
    assert good.ok
    assert not bad.ok
    assert "401" in bad.message


def test_rejected_credentials_surface_as_config_error(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    connector = utilities.connector.with_runtime(runtime)
    config = utilities.UtilitiesConfig(base_url=simulators["utilities"], api_key="wrong")
    subject = persona(PersonaProfile.HEALTHY)
    result = asyncio.run(
        collect_read(connector, config, grant_for(subject.uscc, everything("utilities")), ["bills"])
    )
    assert result.records == ()
    assert [type(e) for e in result.errors] == [ConfigError]


def test_small_pages_resume_from_checkpoint_without_duplicates(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    connector = tax.connector.with_runtime(runtime)
    config = config_for("tax", simulators["tax"], page_size=5)
    grant = grant_for(persona(PersonaProfile.HEALTHY).uscc, everything("tax"))

    full = asyncio.run(collect_read(connector, config, grant, ["vat_returns"]))
    assert len(full.checkpoints) >= 5  # 24 returns + a duplicate in pages of 5

    # Stop mid-stream, resume from the last checkpoint the consumer saw.
    partial = asyncio.run(
        collect_read(connector, config, grant, ["vat_returns"], stop_after_records=12)
    )
    resume_from = partial.final_state(SyncState())
    assert resume_from.cursor("vat_returns") is not None
    last_checkpoint = max(i for i, item in enumerate(partial.items) if item in partial.checkpoints)
    committed = {r.key for r in partial.items[:last_checkpoint] if isinstance(r, Record)}
    assert len(committed) >= 5
    rest = asyncio.run(collect_read(connector, config, grant, ["vat_returns"], resume_from))

    resumed_keys = [r.key for r in rest.records]
    assert not committed & set(resumed_keys), "records before the checkpoint are not re-read"
    assert committed | set(resumed_keys) == {r.key for r in full.records}

    # An incremental sync from the final state finds nothing new.
    again = asyncio.run(
        collect_read(connector, config, grant, ["vat_returns"], full.final_state(SyncState()))
    )
    assert again.records == ()


def test_stream_without_consented_item_is_never_fetched(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    connector = payroll.connector.with_runtime(runtime)
    subject = persona(PersonaProfile.DECLINING)
    before = simulator_requests(simulators["payroll"], HEADERS["payroll"])
    grant = grant_for(subject.uscc, {"payroll": frozenset({"payroll_summary"})})
    result = asyncio.run(
        collect_read(
            connector,
            config_for("payroll", simulators["payroll"]),
            grant,
            ["payroll_months", "social_insurance"],
        )
    )
    after = simulator_requests(simulators["payroll"], HEADERS["payroll"])
    social_path = f"/v1/enterprises/{subject.uscc}/social-insurance"
    assert after.get(social_path, 0) == before.get(social_path, 0)
    assert {r.stream for r in result.records} == {"payroll_months"}
    denied = [e for e in result.errors if isinstance(e, ConsentDenied)]
    assert [d.missing_items for d in denied] == [frozenset({"social_insurance"})]


def test_consent_for_another_source_does_not_open_this_one(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    connector = tax.connector.with_runtime(runtime)
    subject = persona(PersonaProfile.HEALTHY)
    grant = grant_for(subject.uscc, {"payroll": frozenset({"vat_returns"})})
    result = asyncio.run(
        collect_read(connector, config_for("tax", simulators["tax"]), grant, ["vat_returns"])
    )
    assert result.records == ()
    assert isinstance(result.errors[0], ConsentDenied)


def test_revocation_mid_read_stops_the_read(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    checks = 0

    async def revoked_after_two_pages() -> bool:
        nonlocal checks
        checks += 1
        return checks <= 2

    connector = tax.connector.with_runtime(runtime)
    subject = persona(PersonaProfile.HEALTHY)
    grant = grant_for(subject.uscc, everything("tax"), is_still_valid=revoked_after_two_pages)
    config = config_for("tax", simulators["tax"], page_size=5)
    result = asyncio.run(collect_read(connector, config, grant, ["vat_returns", "arrears"]))
    assert len(result.checkpoints) == 2, "two pages were read before the revocation"
    assert 8 <= len(result.records) <= 10
    last = result.items[-1]
    assert isinstance(last, ConsentDenied)
    assert last.revoked
    assert all(r.stream == "vat_returns" for r in result.records)


def test_expired_consent_fetches_nothing(
    simulators: dict[str, str], runtime: ConnectorRuntime
) -> None:
    from datetime import UTC, datetime

    connector = tax.connector.with_runtime(runtime)
    subject = persona(PersonaProfile.ARREARS)
    grant = grant_for(subject.uscc, everything("tax"), valid_until=datetime(2020, 1, 1, tzinfo=UTC))
    before = simulator_requests(simulators["tax"], HEADERS["tax"])
    result = asyncio.run(
        collect_read(connector, config_for("tax", simulators["tax"]), grant, ["arrears"])
    )
    assert result.records == ()
    assert simulator_requests(simulators["tax"], HEADERS["tax"]) == before
