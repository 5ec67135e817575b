"""The structured-field fast paths agree with the full parser, or defer to it.

`_fast_inner_list` (Signature-Input) and `_fast_byte_sequence` (Signature, Content-Digest) must
build exactly what `_parse_generic` builds (same types: str vs Token, bool vs int), and the
member text the first returns must be the canonical serialisation reused as `@signature-params`.
Anything they do not fully understand they hand back (None); the full parser then decides.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from puhui.clock import FrozenClock, set_clock
from puhui.security import httpsig
from puhui.security.digest import content_digest, verify_content_digest
from puhui.security.httpsig import (
    HttpRequest,
    InnerList,
    Item,
    SignatureError,
    SignatureKey,
    StructuredFieldError,
    Token,
    VerifiedSignature,
    parse_dictionary,
    serialize_item,
    sign_request,
    verify_request,
)

_REJECTED = "rejected"


def _typed(value: Any) -> Any:
    """A comparable form that also tells str from Token and True from 1 (which == ignores)."""
    if isinstance(value, dict):
        return [(key, _typed(member)) for key, member in value.items()]  # order matters too
    if isinstance(value, InnerList):
        return ("inner", [_typed(item) for item in value.items], _typed(value.params))
    if isinstance(value, Item):
        return ("item", _typed(value.value), _typed(value.params))
    return (type(value).__name__, value)


def _generic(text: str) -> Any:
    try:
        return _typed(httpsig._parse_generic(text))
    except StructuredFieldError:
        return _REJECTED


def _public(text: str) -> Any:
    try:
        return _typed(parse_dictionary(text))
    except StructuredFieldError:
        return _REJECTED


def _check(text: str) -> tuple[bool, bool]:
    """Assert fast == generic (or deferred) for `text`; return which fast paths answered."""
    expected = _generic(text)
    inner = httpsig._fast_inner_list(text)
    if inner is not None:
        label, member, member_text = inner
        assert expected == _typed({label: member})
        assert member_text == serialize_item(member)  # reused as `@signature-params`
        assert text == f"{label}={member_text}"
    seq = httpsig._fast_byte_sequence(text)
    if seq is not None:
        assert expected == _typed(seq)
    assert inner is None or seq is None
    assert _public(text) == expected
    return inner is not None, seq is not None


# --- Generated inputs ------------------------------------------------------------------------

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_valid_labels = st.one_of(
    st.sampled_from(["sig1", "sig-b21", "*", "a.b_c-d*"]),
    st.builds(
        str.__add__, st.sampled_from(_LOWER + "*"), st.text(_LOWER + "0123456789_-.*", max_size=5)
    ),
)
_labels = st.one_of(
    _valid_labels,
    _valid_labels,
    _valid_labels,
    st.sampled_from(["Sig1", "1sig", "", "sig 1", "sig\u00e9"]),  # never keys
)
_names = st.one_of(
    st.sampled_from(
        [
            "@method",
            "@target-uri",
            "@authority",
            "@path",
            "@query",
            "content-digest",
            "content-type",
        ]
    ),
    st.text(_PRINTABLE, max_size=8),  # with `"` and `\` sometimes: escapes, not the fast path
)
_param_keys = st.one_of(
    st.sampled_from(["created", "expires", "nonce", "keyid", "alg", "tag"]),
    st.builds(
        str.__add__, st.sampled_from(_LOWER + "*"), st.text(_LOWER + "0123456789_-.*", max_size=4)
    ),
)
# Values the fast path takes (non-negative integers, strings without escapes) and the rest.
_plain_values = st.one_of(
    st.integers(0, 2_000_000_000),
    st.integers(0, 999_999_999_999_999),
    st.text(_PRINTABLE.filter(lambda ch: ch not in '"\\'), max_size=12),
    st.sampled_from(["hmac-sha256", "ecdsa-p256-sha256", ""]),
)
_any_values = st.one_of(
    _plain_values,
    st.integers(-999_999_999_999_999, -1),
    st.text(_PRINTABLE, max_size=12),
    st.sampled_from(["a\\b", 'q"q']),
    st.builds(Token, st.sampled_from(["hmac-sha256", "tok", "a:b/c"])),
    st.booleans(),
    st.binary(max_size=6),
    st.decimals(min_value=-999, max_value=999, places=3).map(lambda d: d.normalize()),
)
_component_params = st.sampled_from(
    [{"req": True}, {"sf": True}, {"key": "sig1"}, {"req": True, "key": "a"}]
)


# One deviation from the canonical form at a time, so most inputs stay otherwise valid: each must
# either be parsed by the fast path to the generic result or be left to the generic parser.
_QUIRKS = (
    "none",
    "none",
    "zero",  # created=01
    "plus",  # created=+1
    "minus zero",  # created=-0
    "sixteen digits",
    "arabic digit",  # \d matches it; [0-9] does not
    "two spaces",  # ("a"  "b")
    "tab between",  # ("a"\t"b")
    "space after (",
    "space before )",
    "space after ;",  # ; created=1 (the generic parser allows it)
    "space before ;",
    "leading space",
    "trailing space",
    "trailing tab",
    "second member",
    "trailing comma",
    "repeated param",
    "flag param",
    "token param",
    "uppercase key",
)


def _render(value: Any) -> str:
    return serialize_item(Item(value))


@st.composite
def _signature_inputs(draw: st.DrawFn) -> str:
    """A Signature-Input value: canonical or with one quirk, then sometimes mutated."""
    label = draw(_labels)
    # Mostly the plain shapes the fast path takes, so that its answers are checked often too.
    item_params = draw(st.sampled_from([st.just({}), st.just({}), st.just({}), _component_params]))
    values = draw(st.sampled_from([_plain_values, _plain_values, _any_values]))
    items = [
        Item(name, params)
        for name, params in draw(st.lists(st.tuples(_names, item_params), max_size=4))
    ]
    params = draw(st.lists(st.tuples(_param_keys, values), max_size=6))
    try:
        names = [serialize_item(item) for item in items]
        rendered = [(key, _render(value)) for key, value in params]
    except StructuredFieldError:  # a name or value that cannot be serialised: write it raw
        names = [f'"{item.value}"' for item in items]
        rendered = [(key, f'"{value}"') for key, value in params]
    quirk = draw(st.sampled_from(_QUIRKS))
    ints = [i for i, (_, value) in enumerate(params) if type(value) is int and value >= 0]
    if ints and quirk in {"zero", "plus", "minus zero", "sixteen digits", "arabic digit"}:
        i = draw(st.sampled_from(ints))
        key, text = rendered[i]
        text = {
            "zero": "0" + text,
            "plus": "+" + text,
            "minus zero": "-0",
            "sixteen digits": "1234567890123456",
            "arabic digit": text + "\u0661",
        }[quirk]
        rendered[i] = (key, text)
    if quirk == "repeated param" and rendered:
        rendered.append((rendered[0][0], "7"))
    if quirk == "flag param":
        rendered.append(("flag", ""))
    if quirk == "token param":
        rendered.append(("alg", "hmac-sha256"))
    if quirk == "uppercase key" and rendered:
        rendered[0] = (rendered[0][0].upper(), rendered[0][1])
    sep = {"two spaces": "  ", "tab between": "\t"}.get(quirk, " ")
    inner = sep.join(names)
    inner = {"space after (": " " + inner, "space before )": inner + " "}.get(quirk, inner)
    semicolon = {"space after ;": "; ", "space before ;": " ;"}.get(quirk, ";")
    param_text = "".join(
        f"{semicolon}{key}={value}" if value else f"{semicolon}{key}" for key, value in rendered
    )
    text = f"{label}=({inner}){param_text}"
    text = {
        "leading space": " " + text,
        "trailing space": text + " ",
        "trailing tab": text + "\t",
        "second member": text + ', sig2=("@path");created=1',
        "trailing comma": text + ",",
    }.get(quirk, text)
    if draw(st.integers(0, 4)) == 0:
        text = draw(_mutated(text))
    return text


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    """Up to three single-character edits drawn from the characters that matter to the grammar."""
    alphabet = st.one_of(st.sampled_from('"()\\;=,: ?*.-+0159aZ@\t\u00e9\u0661'), _PRINTABLE)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert" or not text:
            text = text[:index] + draw(alphabet) + text[index:]
        elif op == "delete":
            text = text[:index] + text[index + 1 :]
        else:
            text = text[:index] + draw(alphabet) + text[index + 1 :]
    return text


@st.composite
def _byte_sequences(draw: st.DrawFn) -> str:
    """A Signature / Content-Digest value: one byte sequence, then maybe broken or extended."""
    label = draw(st.one_of(_labels, st.sampled_from(["sha-256", "sha-512"])))
    encoded = base64.b64encode(draw(st.binary(max_size=70))).decode()
    encoded = draw(
        st.sampled_from(
            [encoded, encoded, encoded.rstrip("="), encoded + "=", encoded.replace("+", "-")]
        )
    )
    text = f"{label}=:{encoded}:"
    text = draw(
        st.sampled_from(
            ["{}", "{}", "{}", " {}", "{} ", "{};a=1", "{}, sig2=:AA==:", "{},", "{}\t"]
        )
    ).format(text)
    if draw(st.integers(0, 2)) == 0:
        text = draw(_mutated(text))
    return text


@settings(max_examples=600, deadline=None)
@given(_signature_inputs())
@example('sig1=("@method" "@target-uri");created=1618884473;nonce="n";keyid="k"')
@example("sig1=()")
@example('sig1=("");nonce=""')
def test_signature_input_fast_path_equals_the_generic_parser(text: str) -> None:
    _check(text)


@settings(max_examples=400, deadline=None)
@given(_byte_sequences())
@example("sig1=::")
@example("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
def test_byte_sequence_fast_path_equals_the_generic_parser(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from('sig1=("@method")created;:=0123AQ== ,\\?*-.'), max_size=40))
def test_arbitrary_text_fast_paths_equal_the_generic_parser(text: str) -> None:
    _check(text)


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        # The shapes the fast paths take.
        ('sig1=("@method" "@target-uri");created=1618884473;nonce="a b";keyid="k"', True),
        ('sig1=("@method");created=0', True),
        ('sig1=("@method");created=999999999999999', True),
        ('sig1=();alg=""', True),
        ("sig1=:AAEC:", True),
        ("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:", True),
        # Valid, but not canonical or not the common shape: the generic parser decides.
        ('sig1=("@method");created=-1', False),
        ('sig1=("@method");created=01', False),
        ('sig1=("@method");created=1.5', False),
        ('sig1=("@method");created=?1', False),
        ('sig1=("@method");flag', False),
        ('sig1=("@method");created=1;created=2', False),  # last wins, first position
        ('sig1=("@method");nonce="a\\"b"', False),
        ('sig1=("a\\\\b")', False),
        ('sig1=("@method");alg=hmac-sha256', False),  # a Token, not a string
        ('sig1=("@method";req)', False),
        ('sig1=("content-type";key="a")', False),
        ('sig1=("@method"  "@path")', False),
        ('sig1=( "@method")', False),
        ('sig1=("@method" )', False),
        (' sig1=("@method")', False),
        ('sig1=("@method") ', False),
        ('sig1=("@method"), sig2=("@path")', False),
        ('sig1=("@method");created=1, sig2=:AA==:', False),
        ("sig1=:AAEC:;x=1", False),
        ("sig1=:AAEC:, sig2=:AA==:", False),
        ("sig1", False),
        ("sig1=1", False),
        # Generic quirk kept as is: Python's \d also matches other scripts' decimal digits.
        ('sig1=("@method");created=\u0661\u0662', False),
        # Rejected by both.
        ('sig1=("@method");created=1234567890123456', False),
        ('sig1=("@method")x', False),
        ('sig1=("@method"', False),
        ('sig1=("@m\u00e9thod")', False),
        ('sig1=("@method");nonce="\u00e9"', False),
        ('sig1=("a\tb")', False),
        ('sig1=("@method");created=', False),
        ('sig1=("@method");=1', False),
        ('Sig1=("@method")', False),
        ('sig1=("@method");Created=1', False),
        ("sig1=(@method)", False),
        ('sig1=("@method"),', False),
        ("sig1=:AAE:", False),  # bad padding
        ("sig1=:AA=E:", False),
        ("sig1=:AA-_:", False),
        ("sig1=:AAEC", False),
        ("", False),
    ],
)
def test_edge_cases(text: str, fast: bool) -> None:
    assert any(_check(text)) is fast


def test_the_cached_component_items_are_keyed_by_the_exact_component_text() -> None:
    first = httpsig._fast_inner_list('s=("@method" "@path");created=1;nonce="a"')
    second = httpsig._fast_inner_list('s=("@method" "@path");created=2;nonce="b"')
    other = httpsig._fast_inner_list('s=("@method" "@query");created=2;nonce="b"')
    assert first is not None
    assert second is not None
    assert other is not None
    assert first[1].items is second[1].items  # shared, immutable
    assert first[1].params is not second[1].params  # never shared: created, nonce differ
    assert [item.value for item in other[1].items] == ["@method", "@query"]
    long_names = " ".join(f'"h{i:03d}"' for i in range(100))
    parsed = httpsig._fast_inner_list(f"s=({long_names});created=1")
    assert parsed is not None
    assert len(parsed[1].items) == 100


def test_content_digest_takes_the_fast_path_and_still_checks_the_body() -> None:
    header = content_digest(b'{"a":1}')
    assert httpsig._fast_byte_sequence(header) is not None
    assert verify_content_digest(header, b'{"a":1}') == "sha-256"
    both = content_digest(b"x", ("sha-256", "sha-512"))
    assert httpsig._fast_byte_sequence(both) is None  # two members: the generic parser
    assert verify_content_digest(both, b"x") == "sha-512"


# --- The whole verification, with and without the fast paths ---------------------------------

_KEY = SignatureKey("hmac-sha256", b"k" * 32, keyid="client-1")
_AT = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def no_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpsig, "_fast_inner_list", lambda text: None)
    monkeypatch.setattr(httpsig, "_fast_byte_sequence", lambda text: None)


def _outcome(request: HttpRequest) -> Any:
    try:
        verified = verify_request(
            request,
            resolve_key={_KEY.keyid: _KEY}.get,
            required_components=("@method", "@target-uri"),
        )
    except SignatureError as exc:
        return (type(exc).__name__, str(exc))
    assert isinstance(verified, VerifiedSignature)
    return verified


def _outcomes(request: HttpRequest) -> tuple[Any, Any]:
    fast = _outcome(request)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpsig, "_fast_inner_list", lambda text: None)
        patch.setattr(httpsig, "_fast_byte_sequence", lambda text: None)
        generic = _outcome(request)
    return fast, generic


@st.composite
def _signed_variants(draw: st.DrawFn) -> HttpRequest:
    url = "https://api.example.com/v1/loans?x=1"
    headers = {"Content-Digest": content_digest(b"{}"), "Content-Type": "application/json"}
    request = HttpRequest("POST", url, headers)
    signed = sign_request(
        request,
        _KEY,
        components=draw(
            st.sampled_from(
                [
                    ("@method", "@target-uri", "content-digest"),
                    ("@method", "@target-uri", "content-digest", "content-type"),
                    ("@method", "@target-uri"),
                    ("content-digest", "@method", "@target-uri"),
                ]
            )
        ),
        created=_AT,
        nonce=draw(st.sampled_from([None, "", "n-1", 'a"b', "a\\b"])),
        tag=draw(st.sampled_from([None, "app"])),
        expires_in=draw(st.sampled_from([None, 60])),
        include_alg=draw(st.booleans()),
    )
    signature_input, signature = signed.signature_input, signed.signature
    change = draw(st.sampled_from(["none", "spaces", "zero", "token", "twice", "second", "mutate"]))
    if change == "spaces":  # equivalent, not canonical: the generic parser must accept it
        signature_input = signature_input.replace('" "', '"  "').replace("(", "( ", 1)
    elif change == "zero":
        signature_input = signature_input.replace("created=", "created=0")
    elif change == "token":
        signature_input = signature_input.replace('alg="hmac-sha256"', "alg=hmac-sha256")
    elif change == "twice":
        signature_input = signature_input.replace('("@method"', '("@method" "@method"')
    elif change == "second":
        signature_input += ', sig2=("@method");created=1;keyid="client-1"'
        signature += ", sig2=:AAAA:"
    elif change == "mutate":
        which = draw(st.booleans())
        if which:
            signature_input = draw(_mutated(signature_input))
        else:
            signature = draw(_mutated(signature))
    return HttpRequest(
        "POST", url, {**headers, "Signature-Input": signature_input, "Signature": signature}
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_signed_variants())
def test_verification_is_the_same_with_and_without_the_fast_paths(request: HttpRequest) -> None:
    previous = set_clock(FrozenClock(_AT))
    try:
        fast, generic = _outcomes(request)
    finally:
        set_clock(previous)
    assert fast == generic


def test_generic_path_still_verifies_and_rejects(no_fast_paths: None) -> None:
    previous = set_clock(FrozenClock(_AT))
    try:
        request = HttpRequest("GET", "https://api.example.com/v1/ping", {})
        signed = sign_request(request, _KEY, components=("@method", "@target-uri"))
        headers = {"Signature-Input": signed.signature_input, "Signature": signed.signature}
        good = HttpRequest(request.method, request.url, headers)
        assert isinstance(_outcome(good), VerifiedSignature)
        bad = HttpRequest("PUT", request.url, headers)
        assert _outcome(bad) == ("SignatureInvalid", "signature does not verify")
    finally:
        set_clock(previous)
