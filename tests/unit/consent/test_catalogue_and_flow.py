"""The consent screen can name every data item a connector asks for; PAR state survives pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from connectors.registry import load_connectors

from puhui.clock import utcnow
from puhui.consent.catalogue import DATA_ITEMS, PURPOSE_WORDS, SOURCE_WORDS
from puhui.consent.flow import pushed_from_context, pushed_to_context
from puhui.consent.models import ConsentPurpose
from puhui.oauth.par import AuthorizationRequest, PushedAuthorizationRequest


def test_every_connector_data_item_has_plain_words_in_both_languages() -> None:
    registry = load_connectors()
    missing = [
        (name, item)
        for name in registry
        for stream in registry[name].catalog().streams  # type: ignore[attr-defined]
        for item in stream.data_items
        if item not in DATA_ITEMS.get(name, {})
    ]
    assert missing == []
    for source, items in DATA_ITEMS.items():
        assert set(SOURCE_WORDS[source]) == {"zh", "en"}
        for words in items.values():
            assert words["zh"]
            assert words["en"]


def test_every_purpose_is_worded() -> None:
    assert set(PURPOSE_WORDS) == {p.value for p in ConsentPurpose}


@pytest.mark.parametrize("state", [None, "st-1"])
def test_a_redeemed_request_round_trips_through_the_session_context(state: str | None) -> None:
    now = utcnow()
    pushed = PushedAuthorizationRequest(
        request_uri="urn:ietf:params:oauth:request_uri:abc",
        request=AuthorizationRequest(
            client_id="ph_x",
            redirect_uri="https://partner.example/cb",
            scope=frozenset({"accounts.read", "tax.read"}),
            code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            state=state,
            authorization_details=({"type": "consent", "items": ["a"]},),
            consent_id="0b7c2f0e-6d0c-4a51-9d0e-0d1d8e0b1a11",
            dpop_jkt="A" * 43,
        ),
        created_at=now,
        expires_at=now + timedelta(seconds=90),
    )
    assert pushed_from_context(pushed_to_context(pushed)) == pushed
