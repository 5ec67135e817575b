"""The RFC 8941 subset behind Signature-Input, Signature and Content-Digest."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.security.httpsig import (
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_dictionary,
)


def test_signature_input_parses_into_components_and_ordered_params() -> None:
    parsed = parse_dictionary(
        'sig1=("@method" "content-digest");created=1618884473;keyid="k\\"1";alg="ed25519", '
        "flag;a=?1, n=-12, d=1.5, t=tok/en:x, b=:aGVsbG8=:"
    )
    sig = parsed["sig1"]
    assert isinstance(sig, InnerList)
    assert [i.value for i in sig.items] == ["@method", "content-digest"]
    assert list(sig.params.items()) == [
        ("created", 1618884473),
        ("keyid", 'k"1'),
        ("alg", "ed25519"),
    ]
    assert parsed["flag"] == Item(True, {"a": True})
    assert parsed["n"] == Item(-12)
    assert parsed["d"] == Item(Decimal("1.5"))
    assert parsed["t"] == Item(Token("tok/en:x"))
    assert isinstance(parsed["t"], Item)
    assert isinstance(parsed["t"].value, Token)
    assert parsed["b"] == Item(b"hello")


@pytest.mark.parametrize(
    "text",
    [
        'sig1=("@method"',  # unterminated inner list
        'sig1=("a""b")',  # items not separated
        "Sig1=1",  # keys are lowercase
        "a=1,",  # trailing comma
        "a=1,,b=2",
        "a=1234567890123456",  # integer too long
        'a="\\x"',  # bad escape
        'a="é"',  # non-ASCII string
        "a=:not base64!:",
        "a=1;",  # empty parameter key
        "a=1 b=2",  # missing comma
    ],
)
def test_malformed_dictionaries_are_rejected(text: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)


_LOWER = "abcdefghijklmnopqrstuvwxyz"
_keys = st.builds(
    str.__add__, st.sampled_from(_LOWER + "*"), st.text(_LOWER + "0123456789_-.*", max_size=6)
)
_bare = st.one_of(
    st.integers(-999_999_999_999_999, 999_999_999_999_999),
    st.booleans(),
    st.binary(max_size=20),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
    st.builds(
        lambda first, rest: Token(first + rest),
        st.sampled_from(_LOWER + _LOWER.upper() + "*"),
        st.text(_LOWER + _LOWER.upper() + "0123456789:/._*-!#$%&'+^`|~", max_size=8),
    ),
    st.decimals(min_value=-999, max_value=999, places=3).map(lambda d: d.normalize()),
)
_params = st.dictionaries(_keys, _bare, max_size=3)
_item = st.builds(Item, _bare, _params)
_member = st.one_of(_item, st.builds(InnerList, st.lists(_item, max_size=4).map(tuple), _params))


@settings(max_examples=200)
@given(st.dictionaries(_keys, _member, max_size=4))
def test_serialise_then_parse_is_identity(members: dict[str, Item | InnerList]) -> None:
    assert parse_dictionary(serialize_dictionary(members)) == members


@settings(max_examples=200)
@given(st.dictionaries(_keys, _member, min_size=1, max_size=4))
def test_agrees_with_http_sfv_reference_parser(members: dict[str, Item | InnerList]) -> None:
    http_sfv = pytest.importorskip("http_sfv")
    text = serialize_dictionary(members)
    reference = http_sfv.Dictionary()
    reference.parse(text.encode())
    assert str(reference) == text
