"""Classification (JR/T 0171-2020) and masking of API responses."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.security.classification import ClassificationMap, FieldClass, FieldKind, class_of
from puhui.security.masking import (
    REDACTED,
    mask_address,
    mask_bank_account,
    mask_document,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_uscc,
)


def test_classes_follow_jrt_0171() -> None:
    assert class_of(FieldKind.SECRET) is FieldClass.C3
    assert {class_of(k) for k in FieldKind if k is not FieldKind.SECRET} == {FieldClass.C2}
    assert class_of(None) is FieldClass.C1


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        (mask_id_number, "110101199001011234", "1101**********1234"),
        (mask_phone, "13812345678", "138****5678"),
        (mask_bank_account, "6222021234561234", "6222********1234"),
        (mask_uscc, "91110108MA01ABCD2X", "9111**********CD2X"),
        (mask_name, "张三", "张*"),
        (mask_name, "张三丰", "张**"),
        (mask_name, "王", "*"),
        (mask_email, "zhang.san@example.com", "z***@example.com"),
        (mask_email, "no-at-sign", "**********"),
        (mask_address, "北京市海淀区中关村大街1号院2号楼", "北京市海淀区" + "*" * 11),
        (mask_phone, "12345", "*****"),
    ],
)
def test_masks_per_kind(mask: Any, value: str, expected: str) -> None:
    assert mask(value) == expected


DIGITS = st.text(st.sampled_from("0123456789X"), min_size=0, max_size=30)


@given(DIGITS)
def test_keep_ends_masks_never_reveal_more_than_the_rule(value: str) -> None:
    for mask, head, tail in ((mask_id_number, 4, 4), (mask_phone, 3, 4), (mask_bank_account, 4, 4)):
        masked = mask(value)
        assert len(masked) == len(value)
        revealed = [i for i, ch in enumerate(masked) if ch != "*"]
        assert len(revealed) <= head + tail
        assert all(i < head or i >= len(value) - tail for i in revealed)
        assert all(masked[i] == value[i] for i in revealed)
        if revealed:
            assert len(value) - len(revealed) >= 4


@given(st.text(min_size=1, max_size=40))
def test_name_and_address_masks_hide_most_of_the_value(value: str) -> None:
    assert sum(ch != "*" for ch in mask_name(value)) <= 1
    keep = min(6, len(value) // 2)
    assert mask_address(value) == value[:keep] + "*" * (len(value) - keep)


CUSTOMER_MAP = ClassificationMap(
    paths={
        "customer.name": FieldKind.NAME,
        "customer.id_number": "id_number",
        "customer.phones": FieldKind.PHONE,
        "accounts.number": FieldKind.BANK_ACCOUNT,
        "credentials.api_secret": FieldKind.SECRET,
    },
    anywhere={"password": FieldKind.SECRET},
)
DOCUMENT: dict[str, Any] = {
    "customer": {
        "name": "李四",
        "id_number": "110101199001011234",
        "phones": ["13812345678", "13987654321"],
        "segment": "micro",
    },
    "accounts": [{"number": "6222021234561234", "balance_fen": 100}, {"number": None}],
    "credentials": {"api_secret": "sk_live_abc", "nested": {"password": "hunter2"}},
    "limit_fen": 50_000_000,
}


def test_mask_document_masks_declared_paths_and_leaves_the_rest() -> None:
    original = copy.deepcopy(DOCUMENT)
    masked = mask_document(DOCUMENT, CUSTOMER_MAP)
    assert original == DOCUMENT  # never mutated
    assert masked["customer"] == {
        "name": "李*",
        "id_number": "1101**********1234",
        "phones": ["138****5678", "139****4321"],
        "segment": "micro",
    }
    assert masked["accounts"] == [
        {"number": "6222********1234", "balance_fen": 100},
        {"number": None},
    ]
    assert masked["credentials"]["api_secret"] == REDACTED
    assert masked["credentials"]["nested"]["password"] == REDACTED
    assert masked["limit_fen"] == 50_000_000


def test_reveal_unmasks_c2_kinds_but_never_secrets() -> None:
    masked = mask_document(DOCUMENT, CUSTOMER_MAP, reveal={FieldKind.PHONE, FieldKind.SECRET})
    assert masked["customer"]["phones"] == ["13812345678", "13987654321"]
    assert masked["customer"]["id_number"] == "1101**********1234"
    assert masked["credentials"]["api_secret"] == REDACTED


def test_unclassified_documents_are_returned_as_is() -> None:
    doc = {"a": [1, 2, {"b": "c"}]}
    assert mask_document(doc, ClassificationMap()) is doc


def test_classification_map_rejects_conflicting_paths() -> None:
    with pytest.raises(ValueError, match="leaf"):
        ClassificationMap(paths={"a": FieldKind.NAME, "a.b": FieldKind.PHONE})
    with pytest.raises(ValueError, match="empty segment"):
        ClassificationMap(paths={"a..b": FieldKind.NAME})
    assert CUSTOMER_MAP.kind_at("customer.id_number") is FieldKind.ID_NUMBER
    assert CUSTOMER_MAP.kind_at("x.password") is FieldKind.SECRET
    assert CUSTOMER_MAP.kind_at("customer.segment") is None
