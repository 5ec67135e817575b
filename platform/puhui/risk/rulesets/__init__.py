"""Shipped admission rule sets (JSON data) and the loader that validates and compiles them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from puhui.risk.rules import AdmissionRuleSet, RuleSetError

__all__ = [
    "DEFAULT_RULESET_FILE",
    "RULESET_DIR",
    "default_ruleset",
    "effective_ruleset",
    "load_ruleset",
    "parse_ruleset",
]

RULESET_DIR: Final = Path(__file__).resolve().parent
DEFAULT_RULESET_FILE: Final = RULESET_DIR / "baseline-admission.json"


def _reject_float(literal: str) -> Any:
    raise RuleSetError(f'decimal {literal} must be written as a string, e.g. "{literal}"')


def parse_ruleset(data: bytes | str) -> AdmissionRuleSet:
    """Parse, validate and compile a rule-set document; floats are refused so money stays exact."""
    try:
        document = json.loads(data, parse_float=_reject_float)
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"rule set is not valid JSON: {exc}") from exc
    return AdmissionRuleSet.from_document(document)


def load_ruleset(path: Path) -> AdmissionRuleSet:
    """Load one rule-set file; errors name the file."""
    try:
        return parse_ruleset(path.read_bytes())
    except RuleSetError as exc:
        raise RuleSetError(f"{path.name}: {exc}") from exc


@cache
def default_ruleset() -> AdmissionRuleSet:
    """The baseline admission rule set shipped with the platform, compiled once per process."""
    return load_ruleset(DEFAULT_RULESET_FILE)


def effective_ruleset(candidates: Iterable[AdmissionRuleSet], at: datetime) -> AdmissionRuleSet:
    """The rule set with the latest effective_from not after `at` (versions in force by date)."""
    in_force = [rs for rs in candidates if rs.effective_from <= at]
    if not in_force:
        raise RuleSetError(f"no rule set is in force at {at.isoformat()}")
    return max(in_force, key=lambda rs: rs.effective_from)
