"""Step 11, response masking: C2 fields of a JSON response are masked per the route's `fields`
declaration unless the caller's scope and consent grant them; C3 is always redacted (JR/T 0171)."""

from __future__ import annotations

from typing import Final

import msgspec

from puhui.gateway.catalogue import ApiSpec
from puhui.security.classification import ClassificationMap, FieldKind
from puhui.security.masking import mask_document
from puhui.tenancy.subject import AuthSubject

__all__ = ["REVEAL_SCOPE", "classification_of", "mask_response", "reveals"]

# The OAuth scope that, together with a live consent bound to the token, lets a client read
# C2 identifying data in clear (JR/T 0171-2020 7.1: show only what the use needs).
REVEAL_SCOPE: Final = "customer:identity"
_REVEALING_STAFF: Final = frozenset({"operator", "risk_officer", "auditor"})
_KINDS: Final = frozenset(kind.value for kind in FieldKind)
_ALL_KINDS: Final = frozenset(FieldKind)
_MEMBER_KINDS: Final = frozenset({FieldKind.EMAIL, FieldKind.NAME})
_CLEAR_KINDS: Final = _ALL_KINDS - {FieldKind.SECRET}  # every kind a reveal can show in clear
_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


# Per API id: the compiled map and whether it redacts a C3 field (then no caller sees the body
# unmasked, so it is always decoded).
_compiled: dict[str, tuple[ClassificationMap | None, bool]] = {}


def classification_of(spec: ApiSpec) -> ClassificationMap | None:
    """The route's declared fields as a compiled map (once per API id); an unknown C2 kind is
    masked as an address (keeps little), C3 is redacted whole."""
    return _masking_plan(spec)[0]


def _masking_plan(spec: ApiSpec) -> tuple[ClassificationMap | None, bool]:
    plan = _compiled.get(spec.api_id)
    if plan is not None:
        return plan
    paths: dict[str, FieldKind] = {}
    for path, (field_class, kind) in spec.fields.items():
        if field_class == "C1":
            continue
        if field_class == "C3":
            paths[path] = FieldKind.SECRET
        else:
            paths[path] = FieldKind(kind) if kind in _KINDS else FieldKind.ADDRESS
    compiled = ClassificationMap(paths=paths) if paths else None
    plan = (compiled, compiled is not None and _has_secret(compiled))
    _compiled[spec.api_id] = plan
    return plan


def reveals(subject: AuthSubject | None) -> frozenset[FieldKind]:
    """Kinds this caller may read in clear: all for bank staff and for a client holding the
    scope plus a consent; staff contact kinds for partner members; nothing otherwise."""
    if subject is None:
        return frozenset()
    if subject.is_bank_staff and subject.roles & _REVEALING_STAFF:
        return _ALL_KINDS
    if (
        subject.kind == "client"
        and subject.consent_id is not None
        and REVEAL_SCOPE in subject.scopes
    ):
        return _ALL_KINDS
    if subject.kind == "member":
        # A partner's portal members see their own organisation's staff contacts; customers'
        # identifying data (ID, phone, account, address) stays masked for them.
        return _MEMBER_KINDS
    return frozenset()


def mask_response(spec: ApiSpec, subject: AuthSubject | None, body: bytes) -> bytes:
    """The masked JSON body (unchanged bytes when nothing needed masking or it is not JSON)."""
    classification, has_secret = _masking_plan(spec)
    if classification is None or not body:
        return body
    reveal = reveals(subject)
    if not has_secret and reveal >= _CLEAR_KINDS:
        return body
    try:
        document = _decode.decode(body)
    except msgspec.DecodeError:
        return body
    masked = mask_document(document, classification, reveal)
    return body if masked is document else _encode.encode(masked)


def _has_secret(classification: ClassificationMap) -> bool:
    stack = [classification.tree]
    while stack:
        node = stack.pop()
        for value in node.values():
            if isinstance(value, dict):
                stack.append(value)
            elif value is FieldKind.SECRET:
                return True
    return False
