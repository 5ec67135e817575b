"""Admission rule sets: versioned decision tables compiled once into closures (JR/T 0269 9.2.2 a).

A rule set is data (JSON), never code: each rule is a condition over named admission facts,
with a category, an action and a reason code. Evaluation returns every hit; the admission
outcome is the worst action among them.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from operator import attrgetter
from typing import Any, Final

import msgspec

__all__ = [
    "FIELD_KINDS",
    "OPERATORS",
    "Action",
    "AdmissionFacts",
    "AdmissionResult",
    "AdmissionRule",
    "AdmissionRuleSet",
    "Category",
    "Hit",
    "HitSource",
    "LocalizedText",
    "RuleSetError",
    "canonical_hash",
    "worst_action",
]


class Action(StrEnum):
    """What a hit asks of the decision; severity grows pass < refer < decline."""

    PASS = "pass"  # noqa: S105 - an action name, not a credential
    REFER = "refer"
    DECLINE = "decline"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY: Final = {Action.PASS: 0, Action.REFER: 1, Action.DECLINE: 2}


class Category(StrEnum):
    """The baseline admission categories named by JR/T 0269 9.2.2 a."""

    LAWS_REGULATIONS = "laws_regulations"
    AML_CFT = "aml_cft"
    BEHAVIOUR = "behaviour"
    ADMINISTRATIVE_PENALTY = "administrative_penalty"
    CREDIT_DEFAULT = "credit_default"
    ANTI_FRAUD = "anti_fraud"


class HitSource(StrEnum):
    """Which layer produced a hit: the admission rule set or an application fraud check."""

    RULE = "rule"
    FRAUD = "fraud"


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    """One rule or fraud check that fired, with the reason code and action it carries."""

    source: HitSource
    check_id: str
    category: Category
    reason_code: str
    action: Action
    detail: str = ""


def worst_action(hits: Iterable[Hit]) -> Action:
    """The most severe action among the hits; `pass` when nothing fired."""
    worst = Action.PASS
    for hit in hits:
        if _SEVERITY[hit.action] > _SEVERITY[worst]:
            worst = hit.action
    return worst


class AdmissionFacts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The admission inputs rules may test: money in fen, ratios as Decimal, None when unknown."""

    # laws_regulations
    enterprise_status: str | None = None  # active / revoked / cancelled / liquidating
    enterprise_age_months: int | None = None
    industry_division: str | None = None  # GB/T 4754-2017 section letter + division, e.g. "K70"
    loan_purpose: str | None = None
    legal_rep_age_years: int | None = None
    legal_rep_id_valid: bool | None = None
    # aml_cft
    on_sanctions_list: bool | None = None
    on_watch_list: bool | None = None
    beneficial_owner_identified: bool | None = None
    high_risk_jurisdiction: bool | None = None
    # behaviour
    tax_credit_grade: str | None = None  # A / B / M / C / D (STA taxpayer credit grade)
    tax_arrears_fen: int | None = None
    tax_filing_months_12m: int | None = None
    utility_arrears_months_12m: int | None = None
    invoice_void_ratio_12m: Decimal | None = None
    # administrative_penalty
    admin_penalty_count_12m: int | None = None
    admin_penalty_max_fen_12m: int | None = None
    major_tax_violation_listed: bool | None = None
    serious_dishonesty_listed: bool | None = None
    abnormal_operation_listed: bool | None = None
    # credit_default
    court_dishonest_debtor: bool | None = None  # 失信被执行人
    court_enforcement_open_fen: int | None = None
    credit_overdue_current_fen: int | None = None
    credit_overdue_max_days_24m: int | None = None
    worst_loan_classification: str | None = None  # normal / special_mention / substandard / ...
    credit_inquiries_3m: int | None = None
    # anti_fraud
    applicant_is_legal_rep: bool | None = None
    legal_rep_face_verified: bool | None = None
    phone_tenure_months: int | None = None
    legal_rep_active_enterprises: int | None = None
    risk_tags: tuple[str, ...] | None = None
    # identity consistency across sources (9.6): None when no registered name is stored
    enterprise_name_matches_registration: bool | None = None
    legal_rep_matches_registration: bool | None = None
    source_names_match_registration: bool | None = None


def _field_kinds() -> dict[str, type]:
    kinds: dict[str, type] = {}
    hints = typing.get_type_hints(AdmissionFacts)
    for field in msgspec.structs.fields(AdmissionFacts):
        args = [a for a in typing.get_args(hints[field.name]) if a is not types.NoneType]
        base = args[0]
        kinds[field.name] = tuple if typing.get_origin(base) is tuple else base
    return kinds


FIELD_KINDS: Final[Mapping[str, type]] = types.MappingProxyType(_field_kinds())
"""Admission field name → value kind (bool, int, str, Decimal, tuple of str)."""

OPERATORS: Final = frozenset(
    {"==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "contains", "between"}
)
_ORDERED: Final = frozenset({"<", "<=", ">", ">=", "between"})
_ALLOWED_OPS: Final[Mapping[type, frozenset[str]]] = {
    bool: frozenset({"==", "!=", "is_null"}),
    int: OPERATORS - {"contains"},
    Decimal: OPERATORS - {"contains", "in", "not_in"},
    str: frozenset({"==", "!=", "in", "not_in", "is_null", "contains"}),
    tuple: frozenset({"contains", "is_null"}),
}

Predicate = Callable[[AdmissionFacts], bool]


class RuleSetError(ValueError):
    """A rule set document is malformed; the message names the rule and the offending part."""


class LocalizedText(msgspec.Struct, frozen=True):
    """Customer-facing wording in Chinese and English."""

    zh: str
    en: str


class AdmissionRule(msgspec.Struct, frozen=True, kw_only=True):
    """One validated row of the decision table (its condition is compiled separately)."""

    id: str
    category: Category
    action: Action
    reason_code: str
    reason: LocalizedText
    description: str = ""


class AdmissionResult(msgspec.Struct, frozen=True, kw_only=True):
    """Every hit of one evaluation and the admission outcome (the worst action)."""

    hits: tuple[Hit, ...]
    outcome: Action


class AdmissionRuleSet:
    """A loaded, validated and compiled admission rule set; immutable once built."""

    __slots__ = (
        "_by_id",
        "_compiled",
        "content_hash",
        "description",
        "effective_from",
        "id",
        "rules",
        "version",
    )

    def __init__(
        self,
        *,
        ruleset_id: str,
        version: str,
        effective_from: datetime,
        description: str,
        content_hash: str,
        rules: Sequence[tuple[AdmissionRule, Predicate]],
    ) -> None:
        self.id = ruleset_id
        self.version = version
        self.effective_from = effective_from
        self.description = description
        self.content_hash = content_hash
        self.rules: tuple[AdmissionRule, ...] = tuple(rule for rule, _ in rules)
        self._by_id = {rule.id: rule for rule in self.rules}
        self._compiled = tuple(
            (
                predicate,
                Hit(
                    source=HitSource.RULE,
                    check_id=rule.id,
                    category=rule.category,
                    reason_code=rule.reason_code,
                    action=rule.action,
                ),
            )
            for rule, predicate in rules
        )

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> AdmissionRuleSet:
        """Validate a parsed rule-set document and compile every condition; raises RuleSetError."""
        return _build(document)

    def evaluate(self, facts: AdmissionFacts) -> AdmissionResult:
        """Run every rule against the facts; a rule over an unknown (None) value does not fire."""
        hits = tuple([hit for predicate, hit in self._compiled if predicate(facts)])
        return AdmissionResult(hits=hits, outcome=worst_action(hits))

    def rule(self, rule_id: str) -> AdmissionRule:
        """The rule with this id; KeyError when the set has none."""
        return self._by_id[rule_id]

    def __repr__(self) -> str:
        return f"AdmissionRuleSet({self.id!r}, version={self.version!r}, rules={len(self.rules)})"


# --- validation and compilation ------------------------------------------------------------


def canonical_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 over sorted-key compact JSON, so formatting never changes a rule set's identity."""
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _require(mapping: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in mapping:
        raise RuleSetError(f"{where}: missing '{key}'")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RuleSetError(f"{where}: '{key}' must be {kind.__name__}")
    return value


def _build(document: Mapping[str, Any]) -> AdmissionRuleSet:
    if not isinstance(document, Mapping):
        raise RuleSetError("rule set: document must be a JSON object")
    set_id = _require(document, "id", str, "rule set")
    version = _require(document, "version", str, f"rule set {set_id}")
    raw_from = _require(document, "effective_from", str, f"rule set {set_id}")
    try:
        effective_from = datetime.fromisoformat(raw_from)
    except ValueError as exc:
        raise RuleSetError(f"rule set {set_id}: effective_from is not ISO 8601") from exc
    if effective_from.tzinfo is None:
        raise RuleSetError(f"rule set {set_id}: effective_from needs a timezone")
    rows = _require(document, "rules", list, f"rule set {set_id}")
    if not rows:
        raise RuleSetError(f"rule set {set_id}: has no rules")
    compiled: list[tuple[AdmissionRule, Predicate]] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        rule, predicate = _build_rule(row, f"rule set {set_id} rules[{index}]")
        if rule.id in seen:
            raise RuleSetError(f"rule set {set_id}: duplicate rule id {rule.id}")
        seen.add(rule.id)
        compiled.append((rule, predicate))
    return AdmissionRuleSet(
        ruleset_id=set_id,
        version=version,
        effective_from=effective_from,
        description=str(document.get("description", "")),
        content_hash=canonical_hash(document),
        rules=compiled,
    )


def _build_rule(row: Any, where: str) -> tuple[AdmissionRule, Predicate]:
    if not isinstance(row, Mapping):
        raise RuleSetError(f"{where}: must be an object")
    rule_id = _require(row, "id", str, where)
    where = f"rule {rule_id}"
    category = _require(row, "category", str, where)
    if category not in Category.__members__.values():
        raise RuleSetError(f"{where}: unknown category '{category}'")
    action = _require(row, "action", str, where)
    if action not in Action.__members__.values():
        raise RuleSetError(f"{where}: unknown action '{action}'")
    reason = _require(row, "reason", Mapping, where)
    zh = _require(reason, "zh", str, f"{where} reason")
    en = _require(reason, "en", str, f"{where} reason")
    rule = AdmissionRule(
        id=rule_id,
        category=Category(category),
        action=Action(action),
        reason_code=_require(row, "reason_code", str, where),
        reason=LocalizedText(zh=zh, en=en),
        description=str(row.get("description", "")),
    )
    predicate = _compile_condition(_require(row, "when", Mapping, where), f"{where} when")
    return rule, predicate


def _compile_condition(node: Mapping[str, Any], where: str) -> Predicate:
    if "all" in node or "any" in node:
        if len(node) != 1:
            raise RuleSetError(f"{where}: a group has exactly one key, 'all' or 'any'")
        combinator = "all" if "all" in node else "any"
        children = node[combinator]
        if not isinstance(children, list) or not children:
            raise RuleSetError(f"{where}: '{combinator}' needs a non-empty list")
        preds = tuple(
            _compile_condition(_as_mapping(c, f"{where}.{combinator}[{i}]"), f"{where}[{i}]")
            for i, c in enumerate(children)
        )
        return _all_of(preds) if combinator == "all" else _any_of(preds)
    return _compile_leaf(node, where)


def _as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RuleSetError(f"{where}: must be an object")
    return value


def _all_of(preds: tuple[Predicate, ...]) -> Predicate:
    if len(preds) == 1:
        return preds[0]

    def check(facts: AdmissionFacts) -> bool:
        return all(pred(facts) for pred in preds)

    return check


def _any_of(preds: tuple[Predicate, ...]) -> Predicate:
    if len(preds) == 1:
        return preds[0]

    def check(facts: AdmissionFacts) -> bool:
        return any(pred(facts) for pred in preds)

    return check


def _compile_leaf(node: Mapping[str, Any], where: str) -> Predicate:
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys:
        raise RuleSetError(f"{where}: unknown keys {sorted(unknown_keys)}")
    field = _require(node, "field", str, where)
    if field not in FIELD_KINDS:
        raise RuleSetError(f"{where}: unknown field '{field}'")
    op = _require(node, "op", str, where)
    if op not in OPERATORS:
        raise RuleSetError(f"{where}: unknown operator '{op}'")
    kind = FIELD_KINDS[field]
    if op not in _ALLOWED_OPS[kind]:
        raise RuleSetError(f"{where}: operator '{op}' does not apply to {kind.__name__} '{field}'")
    get = attrgetter(field)
    if op == "is_null":
        expected = node.get("value", True)
        if not isinstance(expected, bool):
            raise RuleSetError(f"{where}: is_null takes true or false")
        return (lambda f: get(f) is None) if expected else (lambda f: get(f) is not None)
    if "value" not in node:
        raise RuleSetError(f"{where}: operator '{op}' needs a value")
    raw = node["value"]
    if op in {"in", "not_in"}:
        members = frozenset(_coerce_list(raw, kind, where, op))
        if op == "in":
            return lambda f: (v := get(f)) is not None and v in members
        return lambda f: (v := get(f)) is not None and v not in members
    if op == "between":
        low, high = _coerce_list(raw, kind, where, op)
        if low > high:
            raise RuleSetError(f"{where}: between needs [low, high] with low <= high")
        return lambda f: (v := get(f)) is not None and low <= v <= high
    if op == "contains":
        needle = _coerce(raw, str, where)
        return lambda f: (v := get(f)) is not None and needle in v
    value = _coerce(raw, kind, where)
    return _comparison(op, get, value)


def _comparison(op: str, get: Callable[[AdmissionFacts], Any], value: Any) -> Predicate:
    if op == "==":
        return lambda f: (v := get(f)) is not None and v == value
    if op == "!=":
        return lambda f: (v := get(f)) is not None and v != value
    if op == "<":
        return lambda f: (v := get(f)) is not None and v < value
    if op == "<=":
        return lambda f: (v := get(f)) is not None and v <= value
    if op == ">":
        return lambda f: (v := get(f)) is not None and v > value
    return lambda f: (v := get(f)) is not None and v >= value


def _coerce_list(raw: Any, kind: type, where: str, op: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise RuleSetError(f"{where}: operator '{op}' needs a non-empty list value")
    if op == "between" and len(raw) != 2:
        raise RuleSetError(f"{where}: between needs [low, high] with low <= high")
    return [_coerce(item, kind, where) for item in raw]


def _coerce(raw: Any, kind: type, where: str) -> Any:
    """Check a literal against the field's kind; decimals are written as strings, never floats."""
    if kind is Decimal:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise RuleSetError(f'{where}: decimal values are written as strings, e.g. "0.20"')
        try:
            return Decimal(raw)
        except InvalidOperation as exc:
            raise RuleSetError(f"{where}: '{raw}' is not a decimal") from exc
    expected = str if kind is tuple else kind
    if isinstance(raw, bool) is not (expected is bool) or not isinstance(raw, expected):
        raise RuleSetError(f"{where}: value {raw!r} must be {expected.__name__}")
    return raw
