"""Post-loan early warning (JR/T 0269 9.5): rules over the scenario data connectors refresh.

Each run compares a loan's latest scenario features with what the previous run saw; a rule
fires on a change for the worse (revenue drop, tax grade downgrade, new tax or utility arrears,
payroll headcount drop, lost procurement payers, blacklist or penalty hits) with a severity and
a disposal action, and opens a disposal that staff work through audited states. Monitoring of a
loan stops when the customer's data-use consent ends.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import Conflict
from puhui.risk.inputs import StoredFeatures
from puhui.servicing.limits import freeze_limit
from puhui.servicing.models import Disposal, DisposalState, EarlyWarning, Loan
from puhui.servicing.repository import LoanRepository, WarningRepository
from puhui.tenancy.subject import AuthSubject

__all__ = [
    "DEFAULT_WARNING_RULES",
    "Action",
    "FeaturesReader",
    "RuleKind",
    "Severity",
    "WarningRule",
    "evaluate",
    "monitoring_values",
    "run_warnings",
    "transition_disposal",
]

FeatureValue = float | int | str | bool | None
FeaturesReader = Callable[[AsyncSession, str], Awaitable[StoredFeatures | None]]
"""Latest scenario features by USCC (``puhui.lending.service.scenario_features``)."""


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Action(StrEnum):
    """Disposal actions, mildest first."""

    NOTIFY_MANAGER = "notify_manager"
    REQUIRE_REVIEW = "require_review"
    REDUCE_LIMIT = "reduce_limit"
    FREEZE_LIMIT = "freeze_limit"
    CALL_IN = "call_in"  # 提前收回


class RuleKind(StrEnum):
    RELATIVE_DROP = "relative_drop"  # value fell by at least `threshold` of the previous value
    BELOW = "below"  # value newly at or below `threshold`
    INCREASE = "increase"  # a count went up since the previous run
    GRADE_DOWN = "grade_down"  # a letter grade moved down the scale
    FLAG = "flag"  # a truthy value newly present


_GRADES: Final = ("A", "B", "M", "C", "D")  # tax credit grades, best first


@dataclass(frozen=True, slots=True)
class WarningRule:
    code: str
    feature: str
    kind: RuleKind
    severity: Severity
    action: Action
    threshold: float = 0.0
    description: str = ""

    def fires(self, previous: FeatureValue, current: FeatureValue) -> bool:
        if current is None:
            return False
        if self.kind is RuleKind.FLAG:
            return bool(current) and not bool(previous)
        if self.kind is RuleKind.GRADE_DOWN:
            return (
                isinstance(previous, str)
                and isinstance(current, str)
                and previous in _GRADES
                and current in _GRADES
                and _GRADES.index(current) > _GRADES.index(previous)
            )
        now, before = _as_float(current), _as_float(previous)
        if now is None:
            return False
        if self.kind is RuleKind.BELOW:
            return now <= self.threshold and (before is None or before > self.threshold)
        if before is None:
            return False
        if self.kind is RuleKind.INCREASE:
            return now > before
        return before > 0 and (before - now) / before >= self.threshold


def _as_float(value: FeatureValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


DEFAULT_WARNING_RULES: Final[tuple[WarningRule, ...]] = (
    WarningRule("revenue_drop", "tax.declared_revenue_12m_fen", RuleKind.RELATIVE_DROP,
                Severity.HIGH, Action.REQUIRE_REVIEW, 0.3, "declared revenue fell by 30 % or more"),
    WarningRule("revenue_trend_negative", "tax.revenue_trend_12m", RuleKind.BELOW,
                Severity.MEDIUM, Action.NOTIFY_MANAGER, -0.2, "revenue down 20 % on a year ago"),
    WarningRule("tax_grade_downgrade", "tax.credit_grade", RuleKind.GRADE_DOWN, Severity.HIGH,
                Action.REDUCE_LIMIT, description="tax credit grade downgraded"),
    WarningRule("new_tax_arrears", "tax.arrears_count_24m", RuleKind.INCREASE, Severity.HIGH,
                Action.FREEZE_LIMIT, description="new tax arrears"),
    WarningRule("new_utility_arrears", "utilities.arrears_count", RuleKind.INCREASE,
                Severity.MEDIUM, Action.NOTIFY_MANAGER, description="new utility arrears"),
    WarningRule("headcount_drop", "payroll.headcount", RuleKind.RELATIVE_DROP, Severity.MEDIUM,
                Action.REQUIRE_REVIEW, 0.3, "payroll headcount fell by 30 % or more"),
    WarningRule("payer_loss", "procurement.award_count_12m", RuleKind.RELATIVE_DROP,
                Severity.HIGH, Action.FREEZE_LIMIT, 0.5, "half or more of procurement awards lost"),
    WarningRule("blacklist_hit", "risk.blacklist_hit", RuleKind.FLAG, Severity.CRITICAL,
                Action.CALL_IN, description="enterprise on a blacklist"),
    WarningRule("penalty_hit", "risk.admin_penalty_count_12m", RuleKind.INCREASE, Severity.HIGH,
                Action.REQUIRE_REVIEW, description="new administrative penalty"),
)  # fmt: skip


def evaluate(
    rules: Sequence[WarningRule],
    previous: Mapping[str, FeatureValue],
    current: Mapping[str, FeatureValue],
) -> list[WarningRule]:
    """The rules that fire going from ``previous`` to ``current``."""
    return [r for r in rules if r.fires(previous.get(r.feature), current.get(r.feature))]


def monitoring_values(features: StoredFeatures) -> dict[str, FeatureValue]:
    """Feature values as monitoring keeps them: ratios as floats (JSON), money as int fen."""
    return {
        name: float(value) if isinstance(value, Decimal) else value
        for name, value in features.values.items()
    }


def _observed_key(rule: WarningRule, previous: FeatureValue, current: FeatureValue) -> str:
    text = json.dumps([rule.feature, previous, current], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def _raise_warning(
    session: AsyncSession,
    loan: Loan,
    rule: WarningRule,
    previous: FeatureValue,
    current: FeatureValue,
) -> Disposal | None:
    key = _observed_key(rule, previous, current)
    warnings = WarningRepository(session)
    if await warnings.exists(loan.id, rule.code, key):
        return None  # the same observation never raises twice (reruns are safe)
    warning = EarlyWarning(
        id=uuid.uuid4(),
        tenant_id=loan.tenant_id,
        loan_id=loan.id,
        rule=rule.code,
        severity=rule.severity.value,
        action=rule.action.value,
        detail=rule.description or rule.code,
        observed={"feature": rule.feature, "previous": previous, "current": current},
        observed_key=key,
        fired_at=utcnow(),
    )
    disposal = Disposal(
        tenant_id=loan.tenant_id,
        warning_id=warning.id,
        loan_id=loan.id,
        action=rule.action.value,
        state=DisposalState.OPEN,
    )
    session.add(warning)
    await session.flush()  # the disposal refers to the warning
    session.add(disposal)
    _apply_immediate(loan, rule.action)
    if rule.action in (Action.FREEZE_LIMIT, Action.CALL_IN):
        await freeze_limit(session, loan, f"early warning {rule.code}")
    record_event(
        session,
        "loan.warning",
        target_tenant_id=loan.tenant_id,
        target=f"loan:{loan.id}",
        reason=rule.code,
        details={"severity": rule.severity.value, "action": rule.action.value},
    )
    return disposal


def _apply_immediate(loan: Loan, action: Action) -> None:
    """Protective effects take hold at once; people decide the rest in the disposal."""
    if action in (Action.FREEZE_LIMIT, Action.CALL_IN):
        loan.limit_frozen = True
    flag = {Action.REQUIRE_REVIEW: "review_required", Action.CALL_IN: "call_in_proposed"}.get(
        action
    )
    if flag and flag not in loan.flags:
        loan.flags = [*loan.flags, flag]


_TRANSITIONS: Final = {
    DisposalState.OPEN: {
        DisposalState.IN_PROGRESS,
        DisposalState.COMPLETED,
        DisposalState.DISMISSED,
    },
    DisposalState.IN_PROGRESS: {DisposalState.COMPLETED, DisposalState.DISMISSED},
}


def transition_disposal(
    session: AsyncSession,
    disposal: Disposal,
    to: DisposalState,
    *,
    outcome: str | None,
    subject: AuthSubject,
) -> None:
    """Move a disposal along its workflow; closing needs a stated outcome; every step audited."""
    if to not in _TRANSITIONS.get(disposal.state, set()):
        raise Conflict(f"A {disposal.state} disposal cannot become {to}.")
    if to in (DisposalState.COMPLETED, DisposalState.DISMISSED) and not outcome:
        raise Conflict("Closing a disposal needs its outcome.")
    previous = disposal.state
    disposal.state = to
    disposal.outcome = outcome or disposal.outcome
    if disposal.assignee_member_id is None:
        disposal.assignee_member_id = subject.member_id
    if to in (DisposalState.COMPLETED, DisposalState.DISMISSED):
        disposal.closed_at = utcnow()
    record_event(
        session,
        "disposal.transition",
        subject=subject,
        target_tenant_id=disposal.tenant_id,
        target=f"disposal:{disposal.id}",
        reason=outcome,
        details={"from": previous.value, "to": to.value, "action": disposal.action},
    )


@dataclass(frozen=True, slots=True)
class WarningRun:
    loans_checked: int
    warnings_raised: int
    monitoring_stopped: int


async def run_warnings(
    sessions: SessionFactory,
    read_features: FeaturesReader,
    as_of: date,
    rules: Sequence[WarningRule] = DEFAULT_WARNING_RULES,
    *,
    batch: int = 200,
) -> WarningRun:
    """Check every monitored active loan once; safe to run repeatedly."""
    checked = raised = stopped = 0
    cursor: uuid.UUID | None = None
    while True:
        async with sessions.unit_of_work() as session:
            with tenant_bypass(session, "servicing.warnings.batch"):
                ids = await LoanRepository(session).active_ids(after=cursor, limit=batch)
                if not ids:
                    break
                cursor = ids[-1]
                for loan_id in ids:
                    outcome, fired = await _check_loan(
                        session, loan_id, read_features, rules, as_of
                    )
                    checked += outcome == "checked"
                    stopped += outcome == "stopped"
                    raised += fired
                await session.flush()  # inside the audited bypass: these rows span tenants
    return WarningRun(checked, raised, stopped)


async def _check_loan(
    session: AsyncSession,
    loan_id: uuid.UUID,
    read_features: FeaturesReader,
    rules: Sequence[WarningRule],
    as_of: date,
) -> tuple[str, int]:
    """("skipped" | "stopped" | "checked", warnings raised) for one loan."""
    loan = await LoanRepository(session).get(loan_id)
    if not loan.monitoring_active:
        return "skipped", 0
    if loan.monitoring_consent_until is not None and loan.monitoring_consent_until < as_of:
        # The consent behind monitoring has ended: stop reading this customer's data (9.5).
        loan.monitoring_active = False
        record_event(
            session,
            "loan.monitoring_stopped",
            target_tenant_id=loan.tenant_id,
            target=f"loan:{loan.id}",
            reason="data-use consent ended",
        )
        return "stopped", 0
    found = await read_features(session, loan.enterprise_uscc)
    if found is None or not found.values:
        return "skipped", 0
    current = monitoring_values(found)
    previous: Mapping[str, Any] = loan.monitoring_features or {}
    fired = 0
    if previous:
        for rule in evaluate(rules, previous, current):
            before, now = previous.get(rule.feature), current.get(rule.feature)
            fired += await _raise_warning(session, loan, rule, before, now) is not None
    loan.monitoring_features = dict(current)
    return "checked", fired
