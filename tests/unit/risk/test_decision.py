"""The decision orchestrator: routing to each outcome, customer reasons, and exact replay."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from puhui.risk.decision import (
    DecisionError,
    DecisionInputs,
    DecisionRecord,
    DecisionSnapshot,
    FeatureValue,
    Product,
    ReplayMismatchError,
    Route,
    RoutingPolicy,
    decide,
    replay,
)
from puhui.risk.fraud import (
    ApplicationEvent,
    BlacklistEntry,
    BlacklistKind,
    FraudContext,
    FraudSubject,
)
from puhui.risk.limits import (
    LimitPolicy,
    Mitigation,
    MitigationKind,
    ProductBounds,
    RepaymentCapacity,
)
from puhui.risk.rules import Action, AdmissionFacts, AdmissionRuleSet
from puhui.risk.rulesets import DEFAULT_RULESET_FILE, default_ruleset, parse_ruleset

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
USCC = "91330106MA2XXXXX1A"


class Outcome(msgspec.Struct, frozen=True):
    score: int
    pd: float
    grade: str
    reason_codes: list[str]


class GradeFromFeatures:
    """A deterministic scorer: grade read from the features, score from a numeric feature."""

    model_id = "test-scorecard"
    model_version = "2025.1"

    def score(self, features: Mapping[str, FeatureValue]) -> Outcome:
        months = features.get("tax_months")
        points = 500 + int(float(months)) * 10 if isinstance(months, int | float) else 500
        return Outcome(
            score=points,
            pd=round(1 / points, 6),
            grade=str(features["grade"]),
            reason_codes=["SC_SHORT_HISTORY"],
        )


FACTS = AdmissionFacts(
    enterprise_status="active",
    enterprise_age_months=48,
    legal_rep_age_years=45,
    on_sanctions_list=False,
    tax_credit_grade="B",
    court_dishonest_debtor=False,
)
PRODUCT = Product(
    code="procurement-loan",
    version="3",
    bounds=ProductBounds(min_amount_fen=1_000_000, max_amount_fen=100_000_000, tenor_months=12),
    pricing={
        "A": Decimal("0.0385"),
        "B": Decimal("0.0435"),
        "C": Decimal("0.0550"),
        "D": Decimal("0.0700"),
    },
    routing=RoutingPolicy(
        auto_approval_ceiling_fen=50_000_000,
        review_grades=("C", "D"),
        decline_grades=("E",),
        max_staleness_seconds={"tax": 35 * 86_400, "credit_report": 7 * 86_400},
    ),
)


def inputs(**changes: Any) -> DecisionInputs:
    fields: dict[str, Any] = {
        "application_id": "app-1",
        "customer_id": USCC,
        "product_code": "procurement-loan",
        "facts": FACTS,
        "features": {"grade": "B", "tax_months": 24, "revenue_growth": 0.12},
        "capacity": RepaymentCapacity(
            tax_revenue_12m_fen=600_000_000,
            payroll_12m_fen=48_000_000,
            procurement_receivables_fen=120_000_000,
            existing_debt_service_monthly_fen=500_000,
        ),
        "data_as_of": {"tax": AT - timedelta(days=3), "credit_report": AT - timedelta(days=1)},
    }
    fields.update(changes)
    return DecisionInputs(**fields)


def fraud(**changes: Any) -> FraudContext:
    return FraudContext(
        subject=FraudSubject(application_id="app-1", at=AT, uscc=USCC, phone="13800138000"),
        **changes,
    )


def run(
    decision_inputs: DecisionInputs | None = None,
    context: FraudContext | None = None,
    ruleset: AdmissionRuleSet | None = None,
    product: Product = PRODUCT,
) -> DecisionRecord:
    return decide(
        decision_inputs or inputs(),
        ruleset or default_ruleset(),
        context or fraud(),
        GradeFromFeatures(),
        LimitPolicy(),
        product,
        at=AT,
    )


def test_clean_application_is_approved_with_limit_price_and_versions() -> None:
    record = run()
    assert record.route is Route.AUTO_APPROVE
    assert record.route_reasons == ()
    assert record.limit_fen == 33_700_000
    assert record.annual_rate == Decimal("0.0435")
    assert (record.score.grade, record.score.score) == ("B", 740)
    assert (record.model_id, record.model_version) == ("test-scorecard", "2025.1")
    assert record.ruleset_version == "2025.1.0"
    assert record.ruleset_hash == default_ruleset().content_hash
    assert len(record.input_hash) == 64
    assert [r.code for r in record.customer_reasons] == ["APPROVED"]
    assert [s.source for s in record.data_staleness] == ["credit_report", "tax"]


@pytest.mark.parametrize(
    ("decision_inputs", "expected_reasons"),
    [
        (inputs(facts=msgspec.structs.replace(FACTS, tax_arrears_fen=1)), ("ROUTE_REFER_HIT",)),
        (
            inputs(features={"grade": "C", "tax_months": 24}),
            ("ROUTE_GRADE_REVIEW_BAND",),
        ),
        (
            inputs(data_as_of={"credit_report": AT - timedelta(days=7, seconds=1)}),
            ("ROUTE_STALE_DATA:credit_report",),
        ),
        (
            inputs(capacity=RepaymentCapacity(tax_revenue_12m_fen=1_200_000_000)),
            ("ROUTE_ABOVE_AUTO_CEILING",),
        ),
    ],
    ids=["refer-hit", "grade-band", "stale-data", "above-ceiling"],
)
def test_manual_review_triggers(
    decision_inputs: DecisionInputs, expected_reasons: tuple[str, ...]
) -> None:
    record = run(decision_inputs)
    assert record.route is Route.MANUAL_REVIEW
    assert record.route_reasons == expected_reasons
    assert record.limit_fen > 0  # the reviewer sees the proposed limit
    assert record.customer_reasons[0].code == "REVIEW_PENDING"


def test_data_exactly_at_the_staleness_limit_is_still_fresh() -> None:
    record = run(inputs(data_as_of={"credit_report": AT - timedelta(days=7)}))
    assert record.route is Route.AUTO_APPROVE


@pytest.mark.parametrize(
    ("decision_inputs", "context", "expected_reasons"),
    [
        (
            inputs(facts=msgspec.structs.replace(FACTS, court_dishonest_debtor=True)),
            None,
            ("ROUTE_DECLINE_HIT",),
        ),
        (
            None,
            fraud(
                blacklist_candidates=(
                    BlacklistEntry(
                        kind=BlacklistKind.PHONE, value="13800138000", valid_from=AT - timedelta(1)
                    ),
                )
            ),
            ("ROUTE_DECLINE_HIT",),
        ),
        (inputs(features={"grade": "E"}), None, ("ROUTE_GRADE_DECLINE",)),
        (
            inputs(capacity=RepaymentCapacity(tax_revenue_12m_fen=10_000_000)),
            None,
            ("ROUTE_LIMIT_BELOW_MIN",),
        ),
    ],
    ids=["rule-decline", "fraud-blacklist", "grade-decline", "limit-below-min"],
)
def test_decline_triggers(
    decision_inputs: DecisionInputs | None,
    context: FraudContext | None,
    expected_reasons: tuple[str, ...],
) -> None:
    record = run(decision_inputs, context)
    assert record.route is Route.DECLINE
    assert record.route_reasons == expected_reasons
    assert record.limit_fen == 0
    assert record.annual_rate is None


def test_decline_beats_refer_and_reasons_explain_only_the_decline() -> None:
    facts = msgspec.structs.replace(FACTS, court_dishonest_debtor=True, tax_arrears_fen=100)
    record = run(inputs(facts=facts))
    assert record.route is Route.DECLINE
    assert {h.check_id for h in record.hits} == {"CRD-001", "BEH-003"}
    assert [r.code for r in record.customer_reasons] == ["CRD_DISHONEST_JUDGMENT_DEBTOR"]
    assert "失信被执行人" in record.customer_reasons[0].zh


def test_sanctions_and_fraud_reasons_never_tip_off_the_applicant() -> None:
    record = run(inputs(facts=msgspec.structs.replace(FACTS, on_sanctions_list=True)))
    (reason,) = record.customer_reasons
    assert reason.code == "COMPLIANCE_POLICY"
    assert "sanction" not in reason.en.lower()
    blacklisted = run(
        context=fraud(
            blacklist_candidates=(
                BlacklistEntry(kind=BlacklistKind.USCC, value=USCC, valid_from=AT),
            )
        )
    )
    assert [r.code for r in blacklisted.customer_reasons] == ["UNVERIFIED_INFORMATION"]
    assert blacklisted.hits[0].reason_code == "FRD_BLACKLIST_USCC"  # staff still see the detail


def test_replay_reproduces_the_stored_record_exactly() -> None:
    record = run(inputs(facts=msgspec.structs.replace(FACTS, tax_arrears_fen=1)))
    stored = DecisionRecord.from_json(record.to_json())
    again = replay(stored, default_ruleset(), GradeFromFeatures())
    assert again == record
    assert again.record_hash == record.record_hash
    assert again.to_json() == record.to_json()


def test_replay_refuses_another_rule_set_or_model() -> None:
    record = run()
    edited = parse_ruleset(_default_document_with(version="2024.1.1"))
    with pytest.raises(ReplayMismatchError, match="rule set"):
        replay(record, edited, GradeFromFeatures())

    class Retrained(GradeFromFeatures):
        model_version = "2025.2"

    with pytest.raises(ReplayMismatchError, match="model"):
        replay(record, default_ruleset(), Retrained())


def test_replay_detects_a_tampered_record() -> None:
    record = run()
    tampered = msgspec.structs.replace(record, limit_fen=record.limit_fen * 2)
    with pytest.raises(ReplayMismatchError, match="record_hash"):
        replay(tampered, default_ruleset(), GradeFromFeatures())


def test_replay_detects_a_scorer_that_changed_behind_the_same_version() -> None:
    record = run()

    class Drifted(GradeFromFeatures):
        def score(self, features: Mapping[str, FeatureValue]) -> Outcome:
            return msgspec.structs.replace(super().score(features), score=1)

    with pytest.raises(ReplayMismatchError, match="score"):
        replay(record, default_ruleset(), Drifted())


def test_input_hash_depends_on_content_not_on_key_order_or_number_spelling() -> None:
    first = run(inputs(features={"grade": "B", "tax_months": 24}))
    second = run(inputs(features={"tax_months": 24.0, "grade": "B"}))
    assert first.input_hash == second.input_hash
    changed = run(inputs(features={"grade": "B", "tax_months": 25}))
    assert changed.input_hash != first.input_hash


def test_naive_source_dates_and_mismatched_products_are_refused() -> None:
    with pytest.raises(DecisionError, match="serialisable"):
        run(inputs(data_as_of={"tax": datetime(2025, 2, 1)}))  # deliberately naive
    with pytest.raises(DecisionError, match="product"):
        run(inputs(product_code="car-loan"))


def test_unpriced_grade_is_a_configuration_error() -> None:
    with pytest.raises(DecisionError, match="no price for grade 'A'"):
        run(
            inputs(features={"grade": "A"}),
            product=msgspec.structs.replace(PRODUCT, pricing={"B": Decimal("0.0435")}),
        )


def _busy_application() -> tuple[DecisionInputs, FraudContext]:
    """Ints where floats go, a mitigation, a request cap, velocity events and a blacklist hit."""
    return (
        inputs(
            features={"grade": "C", "tax_months": 7, "revenue_growth": 1},
            requested_amount_fen=20_000_000,
            capacity=RepaymentCapacity(
                tax_revenue_12m_fen=900_000_000,
                payroll_12m_fen=10_000_000,
                procurement_receivables_fen=300_000_000,
                mitigations=(
                    Mitigation(
                        kind=MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT,
                        value_fen=150_000_000,
                    ),
                ),
            ),
        ),
        fraud(
            recent_events=tuple(
                ApplicationEvent(
                    application_id=f"e{i}",
                    at=AT - timedelta(hours=i + 1),
                    uscc=USCC,
                    phone="13800138000",
                )
                for i in range(4)
            ),
            blacklist_candidates=(
                BlacklistEntry(
                    kind=BlacklistKind.PHONE,
                    value="+86 138-0013-8000",
                    action=Action.REFER,
                    valid_from=AT - timedelta(days=2),
                ),
            ),
        ),
    )


def test_stored_hashes_do_not_move() -> None:
    """Input and record hashes are stored with every decision and compared on replay: any change
    to how decide() builds, canonicalises or hashes a record must leave these values as they are.
    """
    clean = run()
    assert clean.input_hash == "735a4b6ac4b8477e295d3183fc68ee318fc1aee0e337999427a7f23825e4ee6b"
    assert clean.record_hash == "b86947ae9df324c4033a6a15fa8ba53512304577ccdaca0ed1c9bd08c5e8f5f3"
    busy = run(*_busy_application())
    assert busy.route is Route.MANUAL_REVIEW
    assert [hit.check_id for hit in busy.hits] == ["blacklist.phone", "velocity.uscc"]
    assert busy.input_hash == "32566380343d655759ac68b4e840c57c44ab7b350c09dcf1d022b0810b78377f"
    assert busy.record_hash == "1dbb4ce92859a5ff16c40a660d002f44b03c984aa78f0439b5b8a937291ad890"


def test_decision_runs_on_the_snapshot_replay_decodes() -> None:
    """The snapshot a record carries is what decoding the whole snapshot's JSON gives (5 → 5.0),
    whichever products and limit policies were decided on before it."""
    application, context = _busy_application()
    other = msgspec.structs.replace(PRODUCT, version="4", pricing={"C": Decimal("0.0600")})
    policy = LimitPolicy(grade_multipliers={"C": Decimal("0.70")})
    for product, limit_policy in ((PRODUCT, LimitPolicy()), (other, policy), (PRODUCT, policy)):
        record = decide(
            application, default_ruleset(), context, GradeFromFeatures(), limit_policy,
            product, at=AT,
        )  # fmt: skip
        whole = DecisionSnapshot(
            decided_at=AT, inputs=application, fraud=context, product=product,
            limit_policy=limit_policy,
        )  # fmt: skip
        expected = msgspec.json.decode(msgspec.json.encode(whole), type=DecisionSnapshot)
        assert record.snapshot == expected
        assert record.snapshot.inputs.features["tax_months"] == 7.0
        assert record.annual_rate == product.pricing["C"]
        assert record.limit is not None
        assert record.limit.grade_multiplier == limit_policy.grade_multipliers["C"]
        assert replay(record, default_ruleset(), GradeFromFeatures()) == record


def test_record_json_keeps_money_exact() -> None:
    payload = msgspec.json.decode(run().to_json())
    assert payload["annual_rate"] == "0.0435"
    assert payload["limit_fen"] == 33_700_000
    assert payload["limit"]["grade_multiplier"] == "1.00"


def _default_document_with(**changes: str) -> bytes:
    document = msgspec.json.decode(DEFAULT_RULESET_FILE.read_bytes())
    document.update(changes)
    return msgspec.json.encode(document)
