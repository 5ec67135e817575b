"""Logs never carry C3 values or clear C2 identifiers (JR/T 0171-2020)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from puhui.security.redaction import RedactingFilter, luhn_valid, redact_text, resident_id_valid

ID_NUMBER = "11010519491231002X"  # valid GB 11643 check digit
MOBILE = "13912345678"
CARD = "6222021234567890128"  # Luhn-valid 19 digits
JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjbGllbnQtMSJ9.c2lnbmF0dXJlLWJ5dGVz"
PASSWORD = "Tr0ub4dor&3"
SEEDS = (ID_NUMBER, MOBILE, CARD, JWT, PASSWORD, "opaque-bearer-token-value")


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(message)s | %(customer)s"))
    logger = logging.getLogger("puhui.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_check_digit_helpers() -> None:
    assert resident_id_valid(ID_NUMBER)
    assert not resident_id_valid("110105194912310021")
    assert luhn_valid(CARD)
    assert not luhn_valid("6222021234567890127")


def test_seeded_values_do_not_survive_in_messages_args_or_extra(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info(
        "login id=%s phone=%s card %s auth=Bearer opaque-bearer-token-value password=%s jwt %s",
        ID_NUMBER,
        MOBILE,
        CARD,
        PASSWORD,
        JWT,
        extra={
            "customer": {"phone": MOBILE, "nested": [ID_NUMBER, {"secret": "x"}]},
            "password": PASSWORD,
        },
    )
    logger.info(
        'json body {"password": "%s", "mobile": "+86 %s"}',
        PASSWORD,
        MOBILE,
        extra={"customer": CARD},
    )
    output = stream.getvalue()
    for seed in SEEDS:
        assert seed not in output
    assert "1101**********002X" in output  # masked, still useful for support
    assert "139****5678" in output
    assert "6222***********0128" in output


def test_exceptions_are_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError(f"customer {ID_NUMBER} token={PASSWORD}")
    except ValueError:
        logger.exception("failed", extra={"customer": None})
    output = stream.getvalue()
    assert "Traceback" in output
    assert ID_NUMBER not in output
    assert PASSWORD not in output


def test_quoted_secrets_are_redacted_whole() -> None:
    text = redact_text("config password=\"correct horse battery\" secret='s p a c e' done")
    assert text == "config password=****** secret=****** done"
    header = redact_text("Authorization: Bearer abc.def-ghi")
    assert "abc" not in header


def test_ordinary_numbers_are_left_alone() -> None:
    text = "loan LA-20260314-000123 amount_fen=50000000 ref 110105194912310021 order 1234567890123"
    assert redact_text(text) == text


def test_integer_identifiers_in_extra_are_masked(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info("call", extra={"customer": int(MOBILE)})
    assert MOBILE not in stream.getvalue()
