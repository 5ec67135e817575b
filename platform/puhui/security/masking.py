"""Masking of C2/C3 values in API responses (JR/T 0171-2020 7.1: show only what the use needs)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Final

from puhui.security.classification import ClassificationMap, FieldKind, PathTree

__all__ = [
    "REDACTED",
    "mask_address",
    "mask_bank_account",
    "mask_document",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_secret",
    "mask_uscc",
    "mask_value",
]

REDACTED: Final = "******"  # fixed width: a secret's length is itself a hint
_MIN_HIDDEN: Final = 4


def _keep_ends(value: str, head: int, tail: int) -> str:
    """Keep `head` and `tail` characters; values too short to hide four between are hidden whole."""
    n = len(value)
    if n - head - tail < _MIN_HIDDEN:
        return "*" * n
    return value[:head] + "*" * (n - head - tail) + value[n - tail :]


def mask_id_number(value: str) -> str:
    """`110101199001011234` → `1101**********1234` (region prefix and last four)."""
    return _keep_ends(value, 4, 4)


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678` (carrier prefix and last four)."""
    return _keep_ends(value, 3, 4)


def mask_bank_account(value: str) -> str:
    """`6222021234561234` → `6222********1234` (issuer prefix and last four)."""
    return _keep_ends(value, 4, 4)


def mask_uscc(value: str) -> str:
    """Unified social credit code: registration department/type prefix and last four."""
    return _keep_ends(value, 4, 4)


def mask_name(value: str) -> str:
    """`张三` → `张*`, `张三丰` → `张**`: only the first character (the surname) stays."""
    if len(value) <= 1:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 1)


def mask_address(value: str) -> str:
    """Keep at most the first six characters (province/city level) and never more than half."""
    keep = min(6, len(value) // 2)
    return value[:keep] + "*" * (len(value) - keep)


def mask_email(value: str) -> str:
    """`zhang@example.com` → `z***@example.com`; the domain stays for recognisability."""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "*" * len(value)
    return local[0] + "***@" + domain


def mask_secret(value: str) -> str:
    """C3 values are never shown, not even partially."""
    return REDACTED


_MASKS: Final[dict[FieldKind, Callable[[str], str]]] = {
    FieldKind.ID_NUMBER: mask_id_number,
    FieldKind.PHONE: mask_phone,
    FieldKind.BANK_ACCOUNT: mask_bank_account,
    FieldKind.USCC: mask_uscc,
    FieldKind.NAME: mask_name,
    FieldKind.ADDRESS: mask_address,
    FieldKind.EMAIL: mask_email,
    FieldKind.SECRET: mask_secret,
}


def mask_value(value: Any, kind: FieldKind) -> Any:
    """Mask one scalar; None and empty strings pass through, other scalars are masked as text."""
    if value is None or value == "":
        return value
    if kind is FieldKind.SECRET:
        return REDACTED
    if isinstance(value, dict | list):
        return REDACTED  # a structure where a scalar was declared: hide it whole
    return _MASKS[kind](value if isinstance(value, str) else str(value))


def _apply_tree(obj: Any, tree: PathTree, reveal: Collection[FieldKind]) -> Any:
    if isinstance(obj, list):
        return [_apply_tree(item, tree, reveal) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] | None = None
    for key, node in tree.items():
        if key not in obj:
            continue
        value = obj[key]
        if isinstance(node, dict):
            new = _apply_tree(value, node, reveal)
        elif node in reveal and node is not FieldKind.SECRET:
            continue
        else:
            new = _mask_leaf(value, node)
        if new is not value:
            if out is None:
                out = dict(obj)  # copy on write: untouched subtrees are shared, never mutated
            out[key] = new
    return obj if out is None else out


def _mask_leaf(value: Any, kind: FieldKind) -> Any:
    if isinstance(value, list):
        return [_mask_leaf(item, kind) for item in value]
    return mask_value(value, kind)


def _apply_anywhere(obj: Any, kinds: dict[str, FieldKind], reveal: Collection[FieldKind]) -> Any:
    if isinstance(obj, list):
        return [_apply_anywhere(item, kinds, reveal) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        kind = kinds.get(key)
        if kind is not None and (kind not in reveal or kind is FieldKind.SECRET):
            out[key] = _mask_leaf(value, kind)
        else:
            out[key] = _apply_anywhere(value, kinds, reveal)
    return out


def mask_document(
    obj: Any, classification: ClassificationMap, reveal: Collection[FieldKind] = frozenset()
) -> Any:
    """Mask every classified field of a JSON-like document, except kinds in `reveal`.

    Secrets (C3) are redacted even when revealed: no role reads authentication data back.
    The input is never mutated.
    """
    result = _apply_tree(obj, classification.tree, reveal) if classification.tree else obj
    if classification.anywhere_kinds:
        result = _apply_anywhere(result, dict(classification.anywhere_kinds), reveal)
    return result
