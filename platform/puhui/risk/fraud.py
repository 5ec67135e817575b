"""Application fraud checks (JR/T 0269 9.6): velocity, device reuse, blacklist, identity, rings.

Every check is a pure function over data the caller gathered (recent application events,
blacklist entries matching the applicant, name claims per source, the enterprise neighbourhood)
and returns hits in the same shape as admission rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

import msgspec

from puhui.risk.rules import Action, Category, Hit, HitSource

__all__ = [
    "ApplicationEvent",
    "BlacklistEntry",
    "BlacklistKind",
    "EnterpriseAttributes",
    "FraudContext",
    "FraudPolicy",
    "FraudSubject",
    "IdentityClaims",
    "Ring",
    "SharedAttribute",
    "VelocityKey",
    "VelocityLimit",
    "check_blacklist",
    "check_device_reuse",
    "check_identity",
    "check_rings",
    "check_velocity",
    "find_rings",
    "normalise_address",
    "normalise_bank_account",
    "normalise_enterprise_name",
    "normalise_person_name",
    "run_fraud_checks",
]


class VelocityKey(StrEnum):
    """Application attributes whose repeat rate is limited."""

    USCC = "uscc"
    DEVICE_ID = "device_id"
    PHONE = "phone"
    IP = "ip"


class BlacklistKind(StrEnum):
    """What a blacklist entry identifies."""

    USCC = "uscc"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    DEVICE = "device"
    IP = "ip"
    BANK_ACCOUNT = "bank_account"


class FraudSubject(msgspec.Struct, frozen=True, kw_only=True):
    """The application being decided, as seen by fraud checks."""

    application_id: str
    at: datetime
    uscc: str  # unified social credit code of the enterprise
    legal_rep_id_number: str | None = None
    phone: str | None = None
    device_id: str | None = None
    ip: str | None = None
    bank_account: str | None = None


class ApplicationEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An earlier application, as recorded for velocity and device checks."""

    application_id: str
    at: datetime
    uscc: str
    phone: str | None = None
    device_id: str | None = None
    ip: str | None = None


class VelocityLimit(msgspec.Struct, frozen=True, kw_only=True):
    """At most `max_count` applications sharing `key` in `window_seconds`, this one included."""

    key: VelocityKey
    window_seconds: int
    max_count: int
    action: Action = Action.REFER


class BlacklistEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A dated blacklist entry, in force on [valid_from, valid_to); open-ended without valid_to."""

    kind: BlacklistKind
    value: str
    valid_from: datetime
    valid_to: datetime | None = None
    action: Action = Action.DECLINE
    source: str = ""

    def in_force(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


class IdentityClaims(msgspec.Struct, frozen=True, kw_only=True):
    """Names of the same enterprise and person as each source reports them."""

    tax_registered_name: str | None = None  # the authority every other source is compared to
    enterprise_names: dict[str, str] = msgspec.field(default_factory=dict)  # source → name
    legal_rep_name: str | None = None  # as registered with the tax/business registry
    applicant_legal_rep_name: str | None = None  # as typed on the application
    phone_owner_name: str | None = None  # from the carrier's real-name record


class EnterpriseAttributes(msgspec.Struct, frozen=True, kw_only=True):
    """An enterprise and the contact attributes that can link it to others."""

    uscc: str
    phones: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    bank_accounts: tuple[str, ...] = ()


class SharedAttribute(msgspec.Struct, frozen=True, kw_only=True):
    """One attribute value held by several enterprises in a ring."""

    kind: str
    value: str
    members: tuple[str, ...]


class Ring(msgspec.Struct, frozen=True, kw_only=True):
    """A connected group of enterprises and the attributes that link them."""

    members: tuple[str, ...]
    shared: tuple[SharedAttribute, ...]


class FraudPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds of the application fraud checks."""

    velocity: tuple[VelocityLimit, ...] = (
        VelocityLimit(key=VelocityKey.USCC, window_seconds=86_400, max_count=3),
        VelocityLimit(key=VelocityKey.DEVICE_ID, window_seconds=86_400, max_count=3),
        VelocityLimit(key=VelocityKey.PHONE, window_seconds=7 * 86_400, max_count=5),
        VelocityLimit(key=VelocityKey.IP, window_seconds=3_600, max_count=10),
    )
    device_max_enterprises: int = 2
    device_window_seconds: int = 30 * 86_400
    device_reuse_action: Action = Action.REFER
    ring_min_size: int = 3
    ring_action: Action = Action.REFER
    identity_mismatch_action: Action = Action.REFER


class FraudContext(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the fraud checks read, gathered by the caller; stored in the decision snapshot."""

    subject: FraudSubject
    recent_events: tuple[ApplicationEvent, ...] = ()
    blacklist_candidates: tuple[BlacklistEntry, ...] = ()
    identity: IdentityClaims = msgspec.field(default_factory=IdentityClaims)
    neighbourhood: tuple[EnterpriseAttributes, ...] = ()
    policy: FraudPolicy = msgspec.field(default_factory=FraudPolicy)


def _hit(check_id: str, reason_code: str, action: Action, detail: str) -> Hit:
    return Hit(
        source=HitSource.FRAUD,
        check_id=check_id,
        category=Category.ANTI_FRAUD,
        reason_code=reason_code,
        action=action,
        detail=detail,
    )


# --- velocity and device reuse --------------------------------------------------------------


def check_velocity(
    subject: FraudSubject, events: Iterable[ApplicationEvent], limits: Sequence[VelocityLimit]
) -> list[Hit]:
    """Count applications sharing each key in the window (at - window, at], this one included."""
    events = tuple(events)
    hits: list[Hit] = []
    for limit in limits:
        value = getattr(subject, limit.key.value)
        if value is None:
            continue
        count = 1
        if events:  # none at all for most renewals: skip the window arithmetic
            start = subject.at - timedelta(seconds=limit.window_seconds)
            count += sum(
                1
                for e in events
                if e.application_id != subject.application_id
                and start < e.at <= subject.at
                and getattr(e, limit.key.value) == value
            )
        if count > limit.max_count:
            hits.append(
                _hit(
                    f"velocity.{limit.key.value}",
                    f"FRD_VELOCITY_{limit.key.value.upper()}",
                    limit.action,
                    f"{count} applications by {limit.key.value} in {limit.window_seconds}s "
                    f"(limit {limit.max_count})",
                )
            )
    return hits


def check_device_reuse(
    subject: FraudSubject, events: Iterable[ApplicationEvent], policy: FraudPolicy
) -> list[Hit]:
    """Flag a device that applied for more distinct enterprises than allowed within the window."""
    if subject.device_id is None:
        return []
    start = subject.at - timedelta(seconds=policy.device_window_seconds)
    enterprises = {subject.uscc} | {
        e.uscc for e in events if e.device_id == subject.device_id and start < e.at <= subject.at
    }
    if len(enterprises) <= policy.device_max_enterprises:
        return []
    return [
        _hit(
            "device.reuse",
            "FRD_DEVICE_SHARED",
            policy.device_reuse_action,
            f"device used by {len(enterprises)} enterprises: {', '.join(sorted(enterprises))}",
        )
    ]


# --- blacklist ------------------------------------------------------------------------------

_DIGITS = re.compile(r"\D")


def _normalise_identifier(kind: BlacklistKind, value: str) -> str:
    value = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip()
    if kind is BlacklistKind.PHONE:
        digits = _DIGITS.sub("", value)
        return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    if kind is BlacklistKind.BANK_ACCOUNT:
        return _DIGITS.sub("", value)
    if kind in {BlacklistKind.USCC, BlacklistKind.ID_NUMBER}:
        return value.replace(" ", "").upper()
    return value.lower()


def check_blacklist(subject: FraudSubject, entries: Iterable[BlacklistEntry]) -> list[Hit]:
    """Match the applicant's identifiers against blacklist entries in force at application time."""
    entries = tuple(entries)
    if not entries:
        return []
    own: dict[BlacklistKind, str] = {}
    for kind, value in (
        (BlacklistKind.USCC, subject.uscc),
        (BlacklistKind.ID_NUMBER, subject.legal_rep_id_number),
        (BlacklistKind.PHONE, subject.phone),
        (BlacklistKind.DEVICE, subject.device_id),
        (BlacklistKind.IP, subject.ip),
        (BlacklistKind.BANK_ACCOUNT, subject.bank_account),
    ):
        if value:
            own[kind] = _normalise_identifier(kind, value)
    hits: list[Hit] = []
    for entry in entries:
        mine = own.get(entry.kind)
        if mine is None or not entry.in_force(subject.at):
            continue
        if _normalise_identifier(entry.kind, entry.value) == mine:
            hits.append(
                _hit(
                    f"blacklist.{entry.kind.value}",
                    f"FRD_BLACKLIST_{entry.kind.value.upper()}",
                    entry.action,
                    f"{entry.kind.value} on blacklist since {entry.valid_from.date().isoformat()}"
                    + (f" ({entry.source})" if entry.source else ""),
                )
            )
    return hits


# --- identity consistency -------------------------------------------------------------------

# Longest first, so 有限责任公司 is stripped before 公司 would leave 有限责任 behind.
_COMPANY_SUFFIXES: Final = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "分公司",
    "公司",
    "coltd",  # "Co., Ltd." once punctuation and spaces are gone
    "limited",
    "ltd",
)
_NAME_NOISE: Final = re.compile(r"[\s\.,·•()\[\]{}<>《》【】'\"-]")


def normalise_enterprise_name(name: str) -> str:
    """Comparable form of a company name: NFKC width folding, no punctuation, no legal suffix."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = _NAME_NOISE.sub("", folded)
    for suffix in _COMPANY_SUFFIXES:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            return folded[: -len(suffix)]
    return folded


def normalise_person_name(name: str) -> str:
    """Comparable form of a person's name: width folding, no spaces or middle dots, case-folded."""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name).casefold())


def check_identity(claims: IdentityClaims, action: Action = Action.REFER) -> list[Hit]:
    """Compare enterprise and legal-representative names across sources after normalisation."""
    hits: list[Hit] = []
    if claims.tax_registered_name is not None:
        authority = normalise_enterprise_name(claims.tax_registered_name)
        for source in sorted(claims.enterprise_names):
            if normalise_enterprise_name(claims.enterprise_names[source]) != authority:
                hits.append(
                    _hit(
                        f"identity.enterprise_name.{source}",
                        "FRD_ENTERPRISE_NAME_MISMATCH",
                        action,
                        f"enterprise name from {source} differs from the tax registration",
                    )
                )
    if claims.legal_rep_name is not None:
        rep = normalise_person_name(claims.legal_rep_name)
        for check, other, code in (
            ("application", claims.applicant_legal_rep_name, "FRD_LEGAL_REP_NAME_MISMATCH"),
            ("phone_owner", claims.phone_owner_name, "FRD_PHONE_OWNER_MISMATCH"),
        ):
            if other is not None and normalise_person_name(other) != rep:
                hits.append(
                    _hit(
                        f"identity.legal_rep.{check}",
                        code,
                        action,
                        f"{check.replace('_', ' ')} name differs from the legal representative",
                    )
                )
    return hits


# --- shared-attribute graph -----------------------------------------------------------------


class _DisjointSet:
    """Union-find with path halving and union by size."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))
        self._size = [1] * size

    def find(self, node: int) -> int:
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]


_ADDRESS_NOISE: Final = re.compile(r"[\s\.,，。、·•()（）\[\]{}<>《》【】'\"#-]")
_ACCOUNT_NOISE: Final = re.compile(r"[\s-]")


def normalise_address(address: str) -> str:
    """Width-folded address without spaces or punctuation, so 文一路 1号 matches 文一路1号."""
    return _ADDRESS_NOISE.sub("", unicodedata.normalize("NFKC", address).casefold())


def normalise_bank_account(account: str) -> str:
    """An account number without spaces or dashes, upper-cased: 6222 0202-0001 → 622202020001.

    Graph nodes may also carry an account's blind index (hex) instead of the number, so
    letters are kept: two equal accounts, or two equal indexes, always compare equal.
    """
    return _ACCOUNT_NOISE.sub("", unicodedata.normalize("NFKC", account)).upper()


def _attribute_keys(enterprise: EnterpriseAttributes) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for kind, values, norm in (
        ("phone", enterprise.phones, BlacklistKind.PHONE),
        ("device", enterprise.devices, BlacklistKind.DEVICE),
    ):
        keys.update((kind, _normalise_identifier(norm, v)) for v in values if v)
    keys.update(("bank_account", normalise_bank_account(b)) for b in enterprise.bank_accounts if b)
    keys.update(("address", normalise_address(a)) for a in enterprise.addresses if a)
    keys.discard(("address", ""))
    keys.discard(("bank_account", ""))
    return keys


def find_rings(enterprises: Iterable[EnterpriseAttributes], min_size: int) -> list[Ring]:
    """Groups of >= `min_size` enterprises linked by a shared phone, device, address or account."""
    by_uscc: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for enterprise in enterprises:
        by_uscc[enterprise.uscc.upper()] |= _attribute_keys(enterprise)
    usccs = sorted(by_uscc)
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, uscc in enumerate(usccs):
        for key in by_uscc[uscc]:
            holders[key].append(index)
    components = _DisjointSet(len(usccs))
    for indices in holders.values():
        for other in indices[1:]:
            components.union(indices[0], other)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(usccs)):
        groups[components.find(index)].append(index)
    rings: list[Ring] = []
    for members in groups.values():
        if len(members) < min_size:
            continue
        member_set = set(members)
        shared = sorted(
            (
                SharedAttribute(kind=k, value=v, members=tuple(usccs[i] for i in idx))
                for (k, v), idx in holders.items()
                if len(idx) > 1 and idx[0] in member_set
            ),
            key=lambda s: (s.kind, s.value),
        )
        rings.append(Ring(members=tuple(usccs[i] for i in members), shared=tuple(shared)))
    rings.sort(key=lambda r: r.members)
    return rings


def check_rings(
    uscc: str, neighbourhood: Iterable[EnterpriseAttributes], policy: FraudPolicy
) -> list[Hit]:
    """Flag the applicant when it belongs to a ring of at least `policy.ring_min_size` members."""
    target = uscc.upper()
    enterprises = list(neighbourhood)
    if len(enterprises) < policy.ring_min_size:  # too few enterprises to form a ring at all
        return []
    for ring in find_rings(enterprises, policy.ring_min_size):
        if target in ring.members:
            links = ", ".join(f"{s.kind}×{len(s.members)}" for s in ring.shared)
            return [
                _hit(
                    "graph.ring",
                    "FRD_LINKED_ENTERPRISE_RING",
                    policy.ring_action,
                    f"ring of {len(ring.members)} enterprises linked by {links}",
                )
            ]
    return []


def run_fraud_checks(context: FraudContext) -> list[Hit]:
    """All application fraud checks over one context, in a fixed order."""
    policy = context.policy
    subject = context.subject
    neighbourhood = context.neighbourhood
    if all(e.uscc.upper() != subject.uscc.upper() for e in neighbourhood):
        neighbourhood = (*neighbourhood, _subject_attributes(subject))
    return [
        *check_blacklist(subject, context.blacklist_candidates),
        *check_velocity(subject, context.recent_events, policy.velocity),
        *check_device_reuse(subject, context.recent_events, policy),
        *check_identity(context.identity, policy.identity_mismatch_action),
        *check_rings(subject.uscc, neighbourhood, policy),
    ]


def _subject_attributes(subject: FraudSubject) -> EnterpriseAttributes:
    """The applicant as a graph node, when the caller's neighbourhood left it out."""
    return EnterpriseAttributes(
        uscc=subject.uscc,
        phones=(subject.phone,) if subject.phone else (),
        devices=(subject.device_id,) if subject.device_id else (),
        bank_accounts=(subject.bank_account,) if subject.bank_account else (),
    )
