"""AES-256-GCM envelope encryption of columns and blind indexes."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.security.fieldcrypto import FieldDecryptionError, FieldKeyring, field_aad

K1, K2, INDEX = os.urandom(32), os.urandom(32), os.urandom(32)
AAD = field_aad("customers", "id_number", 42)


def _ring(current: int = 1) -> FieldKeyring:
    keys = {1: K1} if current == 1 else {1: K1, 2: K2}
    return FieldKeyring(keys, current, INDEX)


@given(st.text(max_size=200))
def test_round_trip_with_version_prefix(plaintext: str) -> None:
    ring = _ring()
    token = ring.encrypt(plaintext, AAD)
    assert token.startswith("v1:")
    assert ring.decrypt_text(token, AAD) == plaintext


def test_same_value_encrypts_differently_each_time() -> None:
    ring = _ring()
    assert ring.encrypt("110101199001011234", AAD) != ring.encrypt("110101199001011234", AAD)


def test_ciphertext_is_bound_to_table_column_and_row() -> None:
    ring = _ring()
    token = ring.encrypt("secret", AAD)
    for other in (
        field_aad("customers", "id_number", 43),
        field_aad("customers", "phone", 42),
        field_aad("staff", "id_number", 42),
    ):
        with pytest.raises(FieldDecryptionError):
            ring.decrypt(token, other)


@given(st.data())
def test_any_byte_flip_is_detected(data: st.DataObject) -> None:
    ring = _ring()
    token = ring.encrypt("13812345678", AAD)
    raw = bytearray(base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4)))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    forged = "v1:" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(FieldDecryptionError):
        ring.decrypt(forged, AAD)


def test_rotation_old_tokens_still_decrypt_and_are_flagged() -> None:
    old = _ring(1).encrypt("张三", AAD)
    rotated = _ring(2)
    assert rotated.needs_rotation(old)
    assert rotated.decrypt_text(old, AAD) == "张三"
    new = rotated.encrypt("张三", AAD)
    assert new.startswith("v2:")
    assert not rotated.needs_rotation(new)
    with pytest.raises(FieldDecryptionError, match="unknown key version"):
        _ring(1).decrypt(new, AAD)


@pytest.mark.parametrize("token", ["", "plain", "v1", "vx:abc", "v1:!!!", "v1:AAAA"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(FieldDecryptionError):
        _ring().decrypt(token, AAD)


def test_blind_index_is_normalised_and_purpose_separated() -> None:
    ring = _ring()
    a = ring.blind_index("11010519491231002x", "customer.id_number")
    assert a == ring.blind_index(" 110105 19491231002X ", "customer.id_number")
    assert a == ring.blind_index(
        "１１０１０５１９４９１２３１００２Ｘ", "customer.id_number"
    )  # full-width
    assert a != ring.blind_index("11010519491231002X", "staff.id_number")
    assert a != ring.blind_index("110105194912310021", "customer.id_number")
    assert len(a) == 64


def test_keyring_validation_and_no_key_in_repr() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FieldKeyring({1: b"short"}, 1, INDEX)
    with pytest.raises(ValueError, match="current"):
        FieldKeyring({1: K1}, 2, INDEX)
    with pytest.raises(ValueError, match="differ"):
        FieldKeyring({1: K1}, 1, K1)
    ring = FieldKeyring.from_base64(
        {"1": base64.b64encode(K1).decode()}, 1, base64.b64encode(INDEX).decode()
    )
    assert ring.decrypt_text(ring.encrypt("x", AAD), AAD) == "x"
    assert K1.hex() not in repr(ring)
    assert str(K1) not in repr(ring)
