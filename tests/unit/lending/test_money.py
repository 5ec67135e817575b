"""The money convention: int fen, exact parsing, ROUND_HALF_UP, yuan formatting."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.money import (
    InvalidAmount,
    InvalidRate,
    Rate,
    div_round_half_up,
    format_yuan,
    parse_yuan,
    round_fen,
    yuan_to_fen,
)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (1_234_567, "12,345.67"),
        (0, "0.00"),
        (5, "0.05"),
        (100, "1.00"),
        (-1_234_567, "-12,345.67"),
        (100_000_000_000, "1,000,000,000.00"),
    ],
)
def test_format_yuan(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12,345.67", 1_234_567),
        ("12345.67", 1_234_567),
        ("0.5", 50),
        ("  7 ", 700),
        ("-1,000.01", -100_001),
        ("1,000,000", 100_000_000),
    ],
)
def test_parse_yuan_from_text(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["12.345", "1,23.00", "12,3456.00", "abc", "", "1e3", "NaN", "12.", ".5", "--1"]
)
def test_parse_yuan_refuses_malformed_or_sub_fen_text(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_yuan(text)


def test_parse_yuan_accepts_decimal_and_int_exactly() -> None:
    assert parse_yuan(Decimal("8606.64")) == 860_664
    assert parse_yuan(3) == 300
    with pytest.raises(InvalidAmount, match="sub-fen"):
        parse_yuan(Decimal("0.001"))
    with pytest.raises(InvalidAmount, match="finite"):
        parse_yuan(Decimal("Infinity"))


@pytest.mark.parametrize("value", [12.5, True, None])
def test_parse_yuan_refuses_floats_and_other_types(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_yuan(value)  # type: ignore[arg-type]


def test_format_yuan_refuses_float() -> None:
    with pytest.raises(InvalidAmount):
        format_yuan(12.5)  # type: ignore[arg-type]


def test_rounding_is_half_up_away_from_zero() -> None:
    assert round_fen(Decimal("2.5")) == 3
    assert round_fen(Decimal("2.4999")) == 2
    assert round_fen(Decimal("-2.5")) == -3
    assert yuan_to_fen(Decimal("8606.6429")) == 860_664
    assert yuan_to_fen(Decimal("0.005")) == 1
    assert div_round_half_up(5, 2) == 3
    assert div_round_half_up(-5, 2) == -3
    assert div_round_half_up(7, 3) == 2


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**9))
def test_integer_rounding_matches_decimal_half_up(numerator: int, denominator: int) -> None:
    assert div_round_half_up(numerator, denominator) == round_fen(
        Decimal(numerator) / Decimal(denominator)
    )


@given(st.integers(-(10**14), 10**14))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


def test_rate_is_exact_and_validated() -> None:
    rate = Rate.percent("6")
    assert rate.annual == Decimal("0.06")
    assert (rate.numerator, rate.denominator) == (3, 50)
    assert str(Rate.percent("4.35")) == "4.35%"
    assert rate.marked_up(Decimal("0.5")).annual == Decimal("0.09")
    with pytest.raises(InvalidRate):
        Rate(0.06)  # type: ignore[arg-type]
    with pytest.raises(InvalidRate):
        Rate(Decimal("-0.01"))
    with pytest.raises(InvalidRate):
        Rate.percent("abc")
    with pytest.raises(InvalidRate):
        Rate(Decimal("NaN"))
