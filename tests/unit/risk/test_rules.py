"""Admission rule sets: the shipped baseline per category, operators, load-time validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from puhui.risk.rules import Action, AdmissionFacts, AdmissionRuleSet, Category, RuleSetError
from puhui.risk.rulesets import default_ruleset, effective_ruleset, parse_ruleset

CLEAN = AdmissionFacts(
    enterprise_status="active",
    enterprise_age_months=48,
    industry_division="C13",
    loan_purpose="采购原材料",
    legal_rep_age_years=45,
    legal_rep_id_valid=True,
    on_sanctions_list=False,
    on_watch_list=False,
    beneficial_owner_identified=True,
    high_risk_jurisdiction=False,
    tax_credit_grade="B",
    tax_arrears_fen=0,
    tax_filing_months_12m=12,
    utility_arrears_months_12m=0,
    invoice_void_ratio_12m=Decimal("0.02"),
    admin_penalty_count_12m=0,
    admin_penalty_max_fen_12m=0,
    major_tax_violation_listed=False,
    serious_dishonesty_listed=False,
    abnormal_operation_listed=False,
    court_dishonest_debtor=False,
    court_enforcement_open_fen=0,
    credit_overdue_current_fen=0,
    credit_overdue_max_days_24m=0,
    worst_loan_classification="normal",
    credit_inquiries_3m=1,
    applicant_is_legal_rep=True,
    legal_rep_face_verified=True,
    phone_tenure_months=60,
    legal_rep_active_enterprises=1,
    risk_tags=(),
)


def with_facts(**changes: Any) -> AdmissionFacts:
    return msgspec.structs.replace(CLEAN, **changes)


def fired(facts: AdmissionFacts) -> dict[str, Action]:
    return {hit.check_id: hit.action for hit in default_ruleset().evaluate(facts).hits}


def test_clean_applicant_passes_every_rule() -> None:
    result = default_ruleset().evaluate(CLEAN)
    assert result.hits == ()
    assert result.outcome is Action.PASS


def test_baseline_covers_every_category_of_9_2_2_a() -> None:
    categories = {rule.category for rule in default_ruleset().rules}
    assert categories == set(Category)


FIRING_CASES: list[tuple[dict[str, Any], str, Action]] = [
    # laws_regulations
    ({"enterprise_status": "revoked"}, "LAW-001", Action.DECLINE),
    ({"enterprise_age_months": 11}, "LAW-002", Action.REFER),
    ({"legal_rep_age_years": 17}, "LAW-003", Action.DECLINE),
    ({"legal_rep_age_years": 66}, "LAW-003", Action.DECLINE),
    ({"industry_division": "K70"}, "LAW-004", Action.DECLINE),
    ({"loan_purpose": "用于购买股票"}, "LAW-005", Action.DECLINE),
    ({"legal_rep_id_valid": False}, "LAW-006", Action.DECLINE),
    # aml_cft
    ({"on_sanctions_list": True}, "AML-001", Action.DECLINE),
    ({"on_sanctions_list": None}, "AML-002", Action.REFER),
    ({"on_watch_list": True}, "AML-003", Action.REFER),
    ({"beneficial_owner_identified": False}, "AML-004", Action.REFER),
    ({"high_risk_jurisdiction": True}, "AML-005", Action.REFER),
    # behaviour
    ({"tax_credit_grade": "D"}, "BEH-001", Action.DECLINE),
    ({"tax_credit_grade": "C"}, "BEH-002", Action.REFER),
    ({"tax_arrears_fen": 1}, "BEH-003", Action.REFER),
    ({"tax_filing_months_12m": 9}, "BEH-004", Action.REFER),
    ({"utility_arrears_months_12m": 3}, "BEH-005", Action.REFER),
    ({"invoice_void_ratio_12m": Decimal("0.20")}, "BEH-006", Action.REFER),
    # administrative_penalty
    (
        {"admin_penalty_count_12m": 1, "admin_penalty_max_fen_12m": 10_000_001},
        "PEN-001",
        Action.REFER,
    ),
    ({"major_tax_violation_listed": True}, "PEN-002", Action.DECLINE),
    ({"serious_dishonesty_listed": True}, "PEN-003", Action.DECLINE),
    ({"abnormal_operation_listed": True}, "PEN-004", Action.REFER),
    # credit_default
    ({"court_dishonest_debtor": True}, "CRD-001", Action.DECLINE),
    ({"court_enforcement_open_fen": 1}, "CRD-002", Action.REFER),
    ({"credit_overdue_current_fen": 100}, "CRD-003", Action.DECLINE),
    ({"credit_overdue_max_days_24m": 91}, "CRD-004", Action.DECLINE),
    ({"credit_overdue_max_days_24m": 31}, "CRD-005", Action.REFER),
    ({"worst_loan_classification": "doubtful"}, "CRD-006", Action.DECLINE),
    ({"credit_inquiries_3m": 7}, "CRD-007", Action.REFER),
    # anti_fraud
    ({"legal_rep_face_verified": False}, "FRD-001", Action.DECLINE),
    ({"applicant_is_legal_rep": False}, "FRD-002", Action.REFER),
    ({"phone_tenure_months": 5}, "FRD-003", Action.REFER),
    ({"legal_rep_active_enterprises": 6}, "FRD-004", Action.REFER),
    ({"risk_tags": ("high_growth", "shell_company")}, "FRD-005", Action.DECLINE),
    # identity consistency with the tax registration (9.6)
    ({"enterprise_name_matches_registration": False}, "FRD-006", Action.REFER),
    ({"legal_rep_matches_registration": False}, "FRD-007", Action.REFER),
    ({"source_names_match_registration": False}, "FRD-008", Action.REFER),
]


@pytest.mark.parametrize(("changes", "rule_id", "action"), FIRING_CASES)
def test_each_rule_fires_on_its_condition(
    changes: dict[str, Any], rule_id: str, action: Action
) -> None:
    hits = fired(with_facts(**changes))
    assert hits == {rule_id: action}


def test_every_baseline_rule_has_a_firing_case() -> None:
    assert {rule.id for rule in default_ruleset().rules} <= {case[1] for case in FIRING_CASES}


@pytest.mark.parametrize(
    "changes",
    [
        {"enterprise_age_months": 12},
        {"legal_rep_age_years": 18},
        {"legal_rep_age_years": 65},
        {"admin_penalty_count_12m": 1, "admin_penalty_max_fen_12m": 10_000_000},
        {"credit_overdue_max_days_24m": 30},
        {"invoice_void_ratio_12m": Decimal("0.19")},
        {"loan_purpose": "支付员工工资"},
        {"industry_division": "K72"},
        {"utility_arrears_months_12m": 2},
        {"credit_inquiries_3m": 6},
        {"legal_rep_active_enterprises": 5},
        {"phone_tenure_months": 6},
        {"enterprise_name_matches_registration": True, "legal_rep_matches_registration": True},
        {"source_names_match_registration": True},
    ],
)
def test_boundary_values_just_inside_policy_pass(changes: dict[str, Any]) -> None:
    assert fired(with_facts(**changes)) == {}


def test_outcome_is_the_worst_action_and_every_hit_is_reported() -> None:
    result = default_ruleset().evaluate(
        with_facts(enterprise_age_months=6, tax_arrears_fen=500, court_dishonest_debtor=True)
    )
    assert {h.check_id for h in result.hits} == {"LAW-002", "BEH-003", "CRD-001"}
    assert result.outcome is Action.DECLINE
    crd = next(h for h in result.hits if h.check_id == "CRD-001")
    assert crd.reason_code == "CRD_DISHONEST_JUDGMENT_DEBTOR"
    assert crd.category is Category.CREDIT_DEFAULT


def test_unknown_values_do_not_fire_comparisons() -> None:
    # A missing tax grade is no evidence of grade D; the is_null screening rule covers gaps.
    assert fired(with_facts(tax_credit_grade=None, enterprise_status=None)) == {}


# --- operators --------------------------------------------------------------------------------


def one_rule(when: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rule = {
        "id": "T-1",
        "category": "behaviour",
        "action": "refer",
        "reason_code": "T",
        "reason": {"zh": "测试", "en": "test"},
        "when": when,
    }
    rule.update(extra)
    return {
        "id": "test",
        "version": "1",
        "effective_from": "2024-01-01T00:00:00+00:00",
        "rules": [rule],
    }


def hits_with(when: dict[str, Any], facts: AdmissionFacts) -> bool:
    return bool(parse_ruleset(json.dumps(one_rule(when))).evaluate(facts).hits)


@pytest.mark.parametrize(
    ("when", "facts", "expected"),
    [
        ({"field": "tax_credit_grade", "op": "!=", "value": "A"}, with_facts(), True),
        ({"field": "tax_credit_grade", "op": "!=", "value": "A"}, AdmissionFacts(), False),
        ({"field": "enterprise_age_months", "op": "<=", "value": 48}, with_facts(), True),
        ({"field": "enterprise_age_months", "op": ">=", "value": 49}, with_facts(), False),
        ({"field": "tax_credit_grade", "op": "not_in", "value": ["A", "B"]}, with_facts(), False),
        ({"field": "credit_inquiries_3m", "op": "in", "value": [1, 2]}, with_facts(), True),
        ({"field": "risk_tags", "op": "is_null", "value": False}, with_facts(), True),
        ({"field": "risk_tags", "op": "is_null"}, AdmissionFacts(), True),
        ({"field": "enterprise_age_months", "op": "between", "value": [48, 48]}, CLEAN, True),
        (
            {"field": "invoice_void_ratio_12m", "op": "<", "value": "0.021"},
            with_facts(),
            True,
        ),
        (
            {
                "all": [
                    {"field": "tax_credit_grade", "op": "==", "value": "B"},
                    {
                        "any": [
                            {"field": "tax_arrears_fen", "op": ">", "value": 0},
                            {"field": "legal_rep_age_years", "op": ">", "value": 40},
                        ]
                    },
                ]
            },
            with_facts(),
            True,
        ),
    ],
)
def test_operators_and_groups(when: dict[str, Any], facts: AdmissionFacts, expected: bool) -> None:
    assert hits_with(when, facts) is expected


# --- validation on load -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"field": "turnover", "op": ">", "value": 1}, "unknown field 'turnover'"),
        ({"field": "tax_arrears_fen", "op": "~=", "value": 1}, "unknown operator '~='"),
        ({"field": "on_watch_list", "op": ">", "value": True}, "does not apply to bool"),
        ({"field": "tax_arrears_fen", "op": ">", "value": "1"}, "must be int"),
        ({"field": "tax_arrears_fen", "op": "between", "value": [5, 1]}, "low <= high"),
        ({"field": "tax_arrears_fen", "op": "between", "value": [1]}, "low <= high"),
        ({"field": "tax_credit_grade", "op": "in", "value": []}, "non-empty list"),
        ({"field": "tax_arrears_fen", "op": ">"}, "needs a value"),
        ({"any": []}, "non-empty list"),
        ({"field": "invoice_void_ratio_12m", "op": "<", "value": "abc"}, "not a decimal"),
    ],
)
def test_invalid_conditions_are_refused_with_a_clear_message(
    when: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleSetError, match="rule T-1") as caught:
        parse_ruleset(json.dumps(one_rule(when)))
    assert message in str(caught.value)


def test_float_literals_are_refused_so_ratios_stay_exact() -> None:
    document = json.dumps(one_rule({"field": "invoice_void_ratio_12m", "op": ">", "value": 0.2}))
    with pytest.raises(RuleSetError, match="as a string"):
        parse_ruleset(document)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"category": "weather"}, "unknown category"),
        ({"action": "maybe"}, "unknown action"),
        ({"reason": {"zh": "只有中文"}}, "missing 'en'"),
    ],
)
def test_invalid_rule_rows_are_refused(extra: dict[str, Any], message: str) -> None:
    when = {"field": "tax_arrears_fen", "op": ">", "value": 0}
    with pytest.raises(RuleSetError, match=message):
        AdmissionRuleSet.from_document(one_rule(when, **extra))


def test_duplicate_ids_and_naive_dates_are_refused() -> None:
    document = one_rule({"field": "tax_arrears_fen", "op": ">", "value": 0})
    document["rules"].append(document["rules"][0])
    with pytest.raises(RuleSetError, match="duplicate rule id T-1"):
        AdmissionRuleSet.from_document(document)
    document = one_rule({"field": "tax_arrears_fen", "op": ">", "value": 0})
    document["effective_from"] = "2024-01-01T00:00:00"
    with pytest.raises(RuleSetError, match="timezone"):
        AdmissionRuleSet.from_document(document)


def test_content_hash_ignores_formatting_but_not_content() -> None:
    document = one_rule({"field": "tax_arrears_fen", "op": ">", "value": 0})
    compact = parse_ruleset(json.dumps(document))
    pretty = parse_ruleset(json.dumps(document, indent=4))
    assert compact.content_hash == pretty.content_hash
    document["rules"][0]["when"]["value"] = 1
    assert parse_ruleset(json.dumps(document)).content_hash != compact.content_hash


def test_effective_ruleset_picks_latest_in_force() -> None:
    when = {"field": "tax_arrears_fen", "op": ">", "value": 0}
    old = AdmissionRuleSet.from_document(one_rule(when))
    newer_doc = one_rule(when)
    newer_doc.update(version="2", effective_from="2025-06-01T00:00:00+00:00")
    newer = AdmissionRuleSet.from_document(newer_doc)
    assert effective_ruleset([old, newer], datetime(2025, 5, 31, tzinfo=UTC)) is old
    assert effective_ruleset([old, newer], datetime(2025, 6, 1, tzinfo=UTC)) is newer
    with pytest.raises(RuleSetError, match="no rule set is in force"):
        effective_ruleset([newer], datetime(2024, 1, 1, tzinfo=UTC))
