"""PKCE with S256 only (RFC 7636, FAPI 2.0)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from puhui.oauth.pkce import (
    PKCEError,
    code_challenge_for,
    validate_code_challenge,
    verify_code_verifier,
)

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
verifiers = st.text(alphabet=UNRESERVED, min_size=43, max_size=128)


def test_rfc7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    verify_code_verifier(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


@given(verifiers)
def test_every_valid_verifier_matches_its_own_challenge(verifier: str) -> None:
    challenge = validate_code_challenge(code_challenge_for(verifier), "S256")
    verify_code_verifier(verifier, challenge)


@given(verifiers, verifiers)
def test_a_different_verifier_never_matches(verifier: str, other: str) -> None:
    assume(verifier != other)
    with pytest.raises(PKCEError, match="does not match") as caught:
        verify_code_verifier(other, code_challenge_for(verifier))
    assert caught.value.error == "invalid_grant"


def test_plain_method_is_refused_with_a_clear_error() -> None:
    verifier = "a" * 43
    with pytest.raises(PKCEError, match="'plain' is not allowed; use S256") as caught:
        validate_code_challenge(verifier, "plain")
    assert caught.value.error == "invalid_request"
    with pytest.raises(PKCEError, match="must be S256"):
        validate_code_challenge(code_challenge_for(verifier), None)
    with pytest.raises(PKCEError, match="required"):
        validate_code_challenge(None, "S256")
    with pytest.raises(PKCEError, match="base64url"):
        validate_code_challenge("short", "S256")


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + " ", "a" * 42 + "+", "a" * 42 + "é", "", None],
)
def test_verifier_charset_and_length_rules(verifier: str | None) -> None:
    with pytest.raises(PKCEError, match="43-128"):
        verify_code_verifier(verifier, code_challenge_for("a" * 43))
