"""Application fraud checks: velocity windows, device reuse, blacklist dates, names, rings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from puhui.risk.fraud import (
    ApplicationEvent,
    BlacklistEntry,
    BlacklistKind,
    EnterpriseAttributes,
    FraudContext,
    FraudPolicy,
    FraudSubject,
    IdentityClaims,
    VelocityKey,
    VelocityLimit,
    check_blacklist,
    check_device_reuse,
    check_identity,
    check_rings,
    check_velocity,
    find_rings,
    normalise_enterprise_name,
    run_fraud_checks,
)
from puhui.risk.rules import Action, Category, HitSource

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
USCC = "91330106MA2XXXXX1A"


def subject(**changes: object) -> FraudSubject:
    fields: dict[str, object] = {
        "application_id": "app-now",
        "at": AT,
        "uscc": USCC,
        "legal_rep_id_number": "33010619800101123x",
        "phone": "13800138000",
        "device_id": "dev-1",
        "ip": "10.0.0.1",
        "bank_account": "6222 0212 0000 1234",
    }
    fields.update(changes)
    return FraudSubject(**fields)  # type: ignore[arg-type]


def event(n: int, ago: timedelta, uscc: str = USCC, **attrs: str) -> ApplicationEvent:
    return ApplicationEvent(application_id=f"app-{n}", at=AT - ago, uscc=uscc, **attrs)


DAY_LIMIT = (VelocityLimit(key=VelocityKey.USCC, window_seconds=86_400, max_count=3),)


def test_velocity_allows_up_to_the_limit_including_this_application() -> None:
    events = [event(1, timedelta(hours=1)), event(2, timedelta(hours=2))]
    assert check_velocity(subject(), events, DAY_LIMIT) == []


def test_velocity_flags_one_more_than_the_limit() -> None:
    events = [event(n, timedelta(hours=n)) for n in (1, 2, 3)]
    (hit,) = check_velocity(subject(), events, DAY_LIMIT)
    assert hit.reason_code == "FRD_VELOCITY_USCC"
    assert hit.action is Action.REFER
    assert hit.source is HitSource.FRAUD
    assert hit.category is Category.ANTI_FRAUD
    assert "4 applications" in hit.detail


def test_velocity_window_excludes_an_event_exactly_one_window_old() -> None:
    edge = [event(1, timedelta(hours=1)), event(2, timedelta(hours=2)), event(3, timedelta(days=1))]
    assert check_velocity(subject(), edge, DAY_LIMIT) == []
    inside = [*edge[:2], event(3, timedelta(days=1) - timedelta(seconds=1))]
    assert len(check_velocity(subject(), inside, DAY_LIMIT)) == 1


def test_velocity_ignores_future_events_and_the_application_itself() -> None:
    events = [
        event(1, -timedelta(minutes=5)),
        ApplicationEvent(application_id="app-now", at=AT, uscc=USCC),
        event(2, timedelta(hours=1)),
        event(3, timedelta(hours=2)),
    ]
    assert check_velocity(subject(), events, DAY_LIMIT) == []


def test_velocity_by_phone_counts_across_enterprises() -> None:
    limits = (VelocityLimit(key=VelocityKey.PHONE, window_seconds=3_600, max_count=2),)
    events = [event(1, timedelta(minutes=10), uscc="OTHER", phone="13800138000")]
    assert check_velocity(subject(), events, limits) == []
    events.append(event(2, timedelta(minutes=20), uscc="THIRD", phone="13800138000"))
    assert [h.reason_code for h in check_velocity(subject(), events, limits)] == [
        "FRD_VELOCITY_PHONE"
    ]


def test_device_used_for_several_enterprises_is_flagged() -> None:
    policy = FraudPolicy(device_max_enterprises=2)
    one_other = [event(1, timedelta(days=2), uscc="B", device_id="dev-1")]
    assert check_device_reuse(subject(), one_other, policy) == []
    two_others = [*one_other, event(2, timedelta(days=3), uscc="C", device_id="dev-1")]
    (hit,) = check_device_reuse(subject(), two_others, policy)
    assert hit.reason_code == "FRD_DEVICE_SHARED"
    assert "3 enterprises" in hit.detail


def test_device_reuse_outside_the_window_is_forgotten() -> None:
    policy = FraudPolicy(device_max_enterprises=1, device_window_seconds=86_400)
    old = [event(1, timedelta(days=2), uscc="B", device_id="dev-1")]
    assert check_device_reuse(subject(), old, policy) == []


# --- blacklist ----------------------------------------------------------------------------------


def entry(kind: BlacklistKind, value: str, start: datetime, end: datetime | None) -> BlacklistEntry:
    return BlacklistEntry(kind=kind, value=value, valid_from=start, valid_to=end, source="bank")


def test_blacklist_entry_in_force_declines() -> None:
    entries = [entry(BlacklistKind.PHONE, "+86 138-0013-8000", AT - timedelta(days=1), None)]
    (hit,) = check_blacklist(subject(), entries)
    assert hit.reason_code == "FRD_BLACKLIST_PHONE"
    assert hit.action is Action.DECLINE


@pytest.mark.parametrize(
    ("start", "end", "in_force"),
    [
        (AT, None, True),  # valid_from is inclusive
        (AT + timedelta(seconds=1), None, False),  # not yet in force
        (AT - timedelta(days=30), AT, False),  # valid_to is exclusive
        (AT - timedelta(days=30), AT + timedelta(seconds=1), True),
    ],
)
def test_blacklist_dates_decide_whether_an_entry_counts(
    start: datetime, end: datetime | None, in_force: bool
) -> None:
    entries = [entry(BlacklistKind.USCC, USCC.lower(), start, end)]
    assert bool(check_blacklist(subject(), entries)) is in_force


def test_blacklist_matches_each_kind_after_normalisation() -> None:
    start = AT - timedelta(days=1)
    entries = [
        entry(BlacklistKind.ID_NUMBER, "33010619800101123X", start, None),
        entry(BlacklistKind.BANK_ACCOUNT, "6222021200001234", start, None),
        entry(BlacklistKind.DEVICE, "DEV-1", start, None),
        entry(BlacklistKind.IP, "10.0.0.2", start, None),
    ]
    codes = {h.reason_code for h in check_blacklist(subject(), entries)}
    assert codes == {
        "FRD_BLACKLIST_ID_NUMBER",
        "FRD_BLACKLIST_BANK_ACCOUNT",
        "FRD_BLACKLIST_DEVICE",
    }


# --- identity consistency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("杭州明远科技有限公司", "杭州明远科技有限责任公司"),
        ("杭州明远科技有限公司", "杭州明远科技"),
        ("杭州明远科技(滨江)有限公司", "杭州明远科技(滨江)有限公司"),
        ("ＡＢＣ贸易有限公司", "abc贸易有限公司"),
        ("杭州 明远 科技 股份有限公司", "杭州明远科技公司"),
        ("Mingyuan Tech Co., Ltd.", "MINGYUAN TECH"),
    ],
)
def test_name_normalisation_treats_variants_as_the_same_enterprise(left: str, right: str) -> None:
    assert normalise_enterprise_name(left) == normalise_enterprise_name(right)


def test_name_normalisation_keeps_different_enterprises_apart() -> None:
    assert normalise_enterprise_name("杭州明远科技有限公司") != normalise_enterprise_name(
        "杭州明达科技有限公司"
    )


def test_identity_check_names_the_source_that_disagrees() -> None:
    claims = IdentityClaims(
        tax_registered_name="杭州明远科技有限公司",
        enterprise_names={
            "application": "杭州明远科技有限责任公司",
            "procurement": "杭州明远科技（有限公司）",
            "payroll": "杭州明达科技有限公司",
        },
    )
    (hit,) = check_identity(claims)
    assert hit.check_id == "identity.enterprise_name.payroll"
    assert hit.reason_code == "FRD_ENTERPRISE_NAME_MISMATCH"


def test_identity_check_compares_legal_rep_with_applicant_and_phone_owner() -> None:
    same = IdentityClaims(
        legal_rep_name="张 伟", applicant_legal_rep_name="张伟", phone_owner_name="张伟"
    )
    assert check_identity(same) == []
    other_owner = IdentityClaims(
        legal_rep_name="张伟", applicant_legal_rep_name="张伟", phone_owner_name="李娜"
    )
    assert [h.reason_code for h in check_identity(other_owner)] == ["FRD_PHONE_OWNER_MISMATCH"]


# --- shared-attribute graph ---------------------------------------------------------------------


def test_rings_are_found_through_chains_of_shared_attributes() -> None:
    enterprises = [
        EnterpriseAttributes(uscc="A", phones=("13900000001",)),
        EnterpriseAttributes(uscc="B", phones=("139-0000-0001",), devices=("dev-9",)),
        EnterpriseAttributes(uscc="C", devices=("dev-9",), addresses=("杭州市 文一路 1号",)),
        EnterpriseAttributes(uscc="D", addresses=("杭州市文一路1号",)),
        EnterpriseAttributes(uscc="E", phones=("13700000000",)),
    ]
    (ring,) = find_rings(enterprises, min_size=3)
    assert ring.members == ("A", "B", "C", "D")
    assert {(s.kind, s.members) for s in ring.shared} == {
        ("phone", ("A", "B")),
        ("device", ("B", "C")),
        ("address", ("C", "D")),
    }


def test_groups_smaller_than_the_minimum_are_not_rings() -> None:
    pair = [
        EnterpriseAttributes(uscc="A", bank_accounts=("6222 0000 1111",)),
        EnterpriseAttributes(uscc="B", bank_accounts=("622200001111",)),
        EnterpriseAttributes(uscc="C"),
    ]
    assert find_rings(pair, min_size=3) == []
    assert [r.members for r in find_rings(pair, min_size=2)] == [("A", "B")]


def test_ring_check_flags_only_members() -> None:
    neighbourhood = [
        EnterpriseAttributes(uscc=USCC, phones=("1",)),
        EnterpriseAttributes(uscc="B", phones=("1",)),
        EnterpriseAttributes(uscc="C", phones=("1",)),
        EnterpriseAttributes(uscc="Z"),
    ]
    policy = FraudPolicy(ring_min_size=3)
    (hit,) = check_rings(USCC, neighbourhood, policy)
    assert hit.reason_code == "FRD_LINKED_ENTERPRISE_RING"
    assert "ring of 3" in hit.detail
    assert check_rings("Z", neighbourhood, policy) == []


def test_run_fraud_checks_links_the_applicant_even_when_left_out_of_the_neighbourhood() -> None:
    context = FraudContext(
        subject=subject(device_id="shared-dev"),
        neighbourhood=(
            EnterpriseAttributes(uscc="B", devices=("shared-dev",)),
            EnterpriseAttributes(uscc="C", devices=("shared-dev",)),
        ),
    )
    assert [h.reason_code for h in run_fraud_checks(context)] == ["FRD_LINKED_ENTERPRISE_RING"]


def test_clean_context_has_no_hits() -> None:
    assert run_fraud_checks(FraudContext(subject=subject())) == []
