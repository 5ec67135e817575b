"""Identity consistency against stored registrations and the four-attribute fraud graph (9.6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from connectors.catalog import FieldClass, Shape, StreamSpec, Volatility, classified
from litestar import Litestar
from tests.lending_builders import (
    HEALTHY,
    application_body,
    apply_and_submit,
    consented_caller,
    decision_record,
    lending_partner,
    new_uscc,
    risk_officer,
    store_features,
    store_record,
)

from puhui.clock import utcnow
from puhui.risk import identity
from puhui.risk.models import BlacklistRow

pytestmark = pytest.mark.anyio


class TaxRegistration(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str
    taxpayer_name: str
    legal_representative: str


class PayrollEmployer(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str
    employer_name: str


def _stream(name: str, record_type: type[msgspec.Struct]) -> StreamSpec:
    fields = {f: FieldClass.C1 for f in record_type.__struct_fields__}
    return StreamSpec(
        name=name,
        title=name,
        record_type=record_type,
        schema_version=1,
        primary_key=("uscc",),
        cursor_field=None,
        data_items=frozenset({name}),
        fields=classified(**fields),
        volatility=Volatility.STATIC,
        shape=Shape.CROSS_SECTION,
    )


STREAMS: dict[str, tuple[StreamSpec, ...]] = {
    "tax": (_stream("registration", TaxRegistration),),
    "payroll": (_stream("employer", PayrollEmployer),),
}


@pytest.fixture
def naming_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connectors whose records carry the registered names (the built-ins' streams do not)."""

    def streams(source: str) -> Sequence[StreamSpec]:
        return STREAMS.get(source, ())

    monkeypatch.setattr(identity, "hosted_streams", streams)


def reason_codes(record: dict[str, Any]) -> list[str]:
    return [hit["reason_code"] for hit in record["record"]["hits"]]


async def registered(app: Litestar, uscc: str, name: str, rep: str, employer: str) -> None:
    await store_features(app, uscc, HEALTHY)
    await store_record(
        app,
        uscc,
        "tax.registration",
        "reg",
        {"uscc": uscc, "taxpayer_name": name, "legal_representative": rep},
    )
    await store_record(
        app, uscc, "payroll.employer", "emp", {"uscc": uscc, "employer_name": employer}
    )


@pytest.mark.usefixtures("naming_connectors")
class TestIdentityConsistency:
    async def test_names_matching_the_tax_registration_raise_nothing(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await registered(app, uscc, "杭州明远科技有限公司", "张三", "杭州明远科技有限责任公司")
        partner = await consented_caller(app, tenant, uscc)
        body = application_body(uscc, products[0], enterprise_name="杭州明远科技 有限公司")
        decided = await apply_and_submit(partner, body)
        record = await decision_record(await risk_officer(app), decided["decision_id"])
        facts = record["record"]["snapshot"]["inputs"]["facts"]
        assert facts["enterprise_name_matches_registration"] is True
        assert facts["legal_rep_matches_registration"] is True
        assert facts["source_names_match_registration"] is True
        assert not [c for c in reason_codes(record) if "MISMATCH" in c]

    async def test_each_mismatch_gives_its_reason_code_and_the_rule_sets_action(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await registered(app, uscc, "杭州明远科技有限公司", "王五", "宁波明达贸易有限公司")
        partner = await consented_caller(app, tenant, uscc)
        decided = await apply_and_submit(partner, application_body(uscc, products[0]))
        assert decided["status"] == "manual_review"
        officer = await risk_officer(app)
        record = await decision_record(officer, decided["decision_id"])
        hits = {h["reason_code"]: h for h in record["record"]["hits"]}
        for code, rule in (
            ("FRD_ENTERPRISE_NAME_MISMATCH", "FRD-006"),
            ("FRD_LEGAL_REP_NAME_MISMATCH", "FRD-007"),
            ("FRD_SOURCE_NAME_MISMATCH", "FRD-008"),
        ):
            assert hits[code]["check_id"] == rule
            assert hits[code]["category"] == "anti_fraud"
            assert hits[code]["action"] == "refer"
        assert "ROUTE_REFER_HIT" in record["record"]["route_reasons"]
        replayed = await officer.post(f"/api/v1/operator/decisions/{decided['decision_id']}/replay")
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["record_hash"] == record["record_hash"]

    async def test_without_a_stored_registration_nothing_is_compared(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        partner = await consented_caller(app, tenant, uscc)
        decided = await apply_and_submit(partner, application_body(uscc, products[0]))
        record = await decision_record(await risk_officer(app), decided["decision_id"])
        facts = record["record"]["snapshot"]["inputs"]["facts"]
        assert "enterprise_name_matches_registration" not in facts
        assert not [c for c in reason_codes(record) if "MISMATCH" in c]


class TestSharedAttributeGraph:
    async def test_a_ring_linked_by_address_and_bank_account_is_referred(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        """A and B share an address, B and C a bank account: C applies last and is flagged."""
        tenant, products = await lending_partner(app)
        address, account = "杭州市西湖区文一路 1号", "6222 0202 0000 1234"
        members = {
            new_uscc(): overrides
            for overrides in (
                {"business_address": address},
                {"business_address": "杭州市西湖区文一路1号", "bank_account": account},
                {"bank_account": "6222-0202-0000-1234"},
            )
        }
        decided: dict[str, Any] = {}
        for uscc, overrides in members.items():
            await store_features(app, uscc, HEALTHY)
            partner = await consented_caller(app, tenant, uscc)
            decided = await apply_and_submit(
                partner, application_body(uscc, products[0], **overrides)
            )
        record = await decision_record(await risk_officer(app), decided["decision_id"])
        (ring,) = [h for h in record["record"]["hits"] if h["check_id"] == "graph.ring"]
        assert ring["reason_code"] == "FRD_LINKED_ENTERPRISE_RING"
        assert "address×2" in ring["detail"]
        assert "bank_account×2" in ring["detail"]
        nodes = {n["uscc"] for n in record["record"]["snapshot"]["fraud"]["neighbourhood"]}
        assert nodes == set(members)
        # Other customers' account numbers never enter this decision record: blind indexes do.
        assert "622202020000" not in str(record["record"]["snapshot"]["fraud"]["neighbourhood"])

    async def test_two_linked_enterprises_are_not_a_ring(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        address = f"宁波市海曙区中山路{new_uscc()[-4:]}号"
        decided: dict[str, Any] = {}
        for _ in range(2):
            uscc = new_uscc()
            await store_features(app, uscc, HEALTHY)
            partner = await consented_caller(app, tenant, uscc)
            decided = await apply_and_submit(
                partner, application_body(uscc, products[0], business_address=address)
            )
        record = await decision_record(await risk_officer(app), decided["decision_id"])
        assert "FRD_LINKED_ENTERPRISE_RING" not in reason_codes(record)
        assert len(record["record"]["snapshot"]["fraud"]["neighbourhood"]) == 2

    async def test_a_blacklisted_repayment_account_declines_however_it_is_spelled(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        await store_features(app, uscc, HEALTHY)
        digits = f"62220{new_uscc()[2:8]}77"
        async with app.state.db.unit_of_work() as session:
            session.add(
                BlacklistRow(
                    kind="bank_account",
                    value=digits,
                    valid_from=utcnow() - timedelta(days=1),
                    action="decline",
                    source="mule-accounts",
                )
            )
        spaced = " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
        partner = await consented_caller(app, tenant, uscc)
        decided = await apply_and_submit(
            partner, application_body(uscc, products[0], bank_account=spaced)
        )
        assert decided["status"] == "declined"
        record = await decision_record(await risk_officer(app), decided["decision_id"])
        assert "FRD_BLACKLIST_BANK_ACCOUNT" in reason_codes(record)

    async def test_a_malformed_bank_account_is_a_problem_not_a_500(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        tenant, products = await lending_partner(app)
        uscc = new_uscc()
        partner = await consented_caller(app, tenant, uscc)
        response = await partner.post(
            "/api/v1/applications",
            json=application_body(uscc, products[0], bank_account="not-an-account"),
            headers={"Idempotency-Key": "bad-account-1"},
        )
        assert response.status_code in {400, 422}
        assert response.headers["content-type"].startswith("application/problem+json")
