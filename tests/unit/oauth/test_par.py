"""Pushed authorization requests: FAPI 2.0 validation, single use, expiry, client binding."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from puhui.clock import FrozenClock
from puhui.oauth.par import (
    DEFAULT_PAR_LIFETIME,
    AuthorizationRequest,
    AuthorizationRequestError,
    ClientRegistration,
    PushedAuthorizationRequest,
    push,
    redeem,
    validate_pushed_parameters,
)
from puhui.oauth.pkce import code_challenge_for
from puhui.oauth.stores import MemoryPushedRequestStore

CLIENT = ClientRegistration(
    client_id="client-a",
    redirect_uris=frozenset({"https://app.partner.example/cb"}),
    allowed_scopes=frozenset({"offers:read", "loans:apply"}),
    authorization_details_types=frozenset({"puhui_credit_data"}),
)
CHALLENGE = code_challenge_for("v" * 43)


def _params(**overrides: str | None) -> list[tuple[str, str]]:
    base: dict[str, str | None] = {
        "client_id": "client-a",
        "response_type": "code",
        "redirect_uri": "https://app.partner.example/cb",
        "scope": "offers:read",
        "state": "af0ifjsldkj",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    base.update(overrides)
    return [(name, value) for name, value in base.items() if value is not None]


def _error(params: list[tuple[str, str]]) -> AuthorizationRequestError:
    with pytest.raises(AuthorizationRequestError) as caught:
        validate_pushed_parameters(params, CLIENT)
    return caught.value


def test_valid_pushed_request_is_accepted() -> None:
    details = json.dumps([{"type": "puhui_credit_data", "sources": ["tax"]}])
    request = validate_pushed_parameters(
        _params(authorization_details=details, consent_id="cns_123", dpop_jkt="j" * 43), CLIENT
    )
    assert request.scope == {"offers:read"}
    assert request.state == "af0ifjsldkj"
    assert request.authorization_details == ({"type": "puhui_credit_data", "sources": ["tax"]},)
    assert request.consent_id == "cns_123"
    assert request.dpop_jkt == "j" * 43


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"response_type": "token"}, "unsupported_response_type", "code"),
        ({"response_type": "code id_token"}, "unsupported_response_type", "code"),
        ({"redirect_uri": "https://app.partner.example/cb/"}, "invalid_request", "registered"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request", "registered"),
        ({"redirect_uri": None}, "invalid_request", "required"),
        ({"code_challenge": None}, "invalid_request", "code_challenge is required"),
        ({"code_challenge_method": None}, "invalid_request", "S256"),
        ({"code_challenge_method": "plain"}, "invalid_request", "plain"),
        ({"scope": "offers:read admin"}, "invalid_scope", "exceeds"),
        ({"scope": None}, "invalid_scope", "needed"),
        ({"client_id": "client-b"}, "invalid_request", "client_id"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request", "request_uri"),
        ({"state": "bad\nstate"}, "invalid_request", "state"),
        ({"consent_id": "no spaces"}, "invalid_request", "consent_id"),
        ({"response_mode": "fragment"}, "invalid_request", "response_mode"),
        ({"authorization_details": "[]"}, "invalid_authorization_details", "non-empty"),
        (
            {"authorization_details": '[{"type": "payment_initiation"}]'},
            "invalid_authorization_details",
            "type",
        ),
    ],
)
def test_invalid_pushed_requests_are_refused(
    overrides: dict[str, str | None], error: str, message: str
) -> None:
    refused = _error(_params(**overrides))
    assert refused.error == error
    assert message in refused.description


def test_repeated_parameters_are_refused() -> None:
    refused = _error([*_params(), ("scope", "loans:apply")])
    assert refused.error == "invalid_request"
    assert "repeated" in refused.description


def _push(
    store: MemoryPushedRequestStore, lifetime: timedelta = DEFAULT_PAR_LIFETIME
) -> PushedAuthorizationRequest:
    request = validate_pushed_parameters(_params(), CLIENT)
    return asyncio.run(push(store, request, lifetime=lifetime))


def _redeem(
    store: MemoryPushedRequestStore, request_uri: str, client_id: str = "client-a"
) -> AuthorizationRequest:
    return asyncio.run(redeem(store, request_uri, client_id))


def test_push_then_redeem_once(frozen_clock: FrozenClock) -> None:
    store = MemoryPushedRequestStore()
    pushed = _push(store)
    assert pushed.request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    assert pushed.response() == {"request_uri": pushed.request_uri, "expires_in": 90}
    assert _redeem(store, pushed.request_uri).redirect_uri == "https://app.partner.example/cb"
    with pytest.raises(AuthorizationRequestError, match="unknown or used") as reused:
        _redeem(store, pushed.request_uri)
    assert reused.value.error == "invalid_request_uri"


def test_expired_request_uri_is_refused(frozen_clock: FrozenClock) -> None:
    store = MemoryPushedRequestStore()
    pushed = _push(store, lifetime=timedelta(seconds=60))
    frozen_clock.advance(timedelta(seconds=60))
    with pytest.raises(AuthorizationRequestError, match="expired"):
        _redeem(store, pushed.request_uri)


def test_request_uri_is_bound_to_its_client(frozen_clock: FrozenClock) -> None:
    store = MemoryPushedRequestStore()
    pushed = _push(store)
    with pytest.raises(AuthorizationRequestError, match="another client"):
        _redeem(store, pushed.request_uri, client_id="client-b")
    with pytest.raises(AuthorizationRequestError, match="unknown or used"):
        _redeem(store, pushed.request_uri)  # burnt by the failed attempt: single use


def test_lifetime_over_600_seconds_is_refused(frozen_clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="600"):
        _push(MemoryPushedRequestStore(), lifetime=timedelta(seconds=601))


def test_foreign_request_uri_is_refused(frozen_clock: FrozenClock) -> None:
    with pytest.raises(AuthorizationRequestError, match="not ours"):
        _redeem(MemoryPushedRequestStore(), "https://evil.example/request")


class RefusingGate:
    async def admit(self, request: AuthorizationRequest) -> None:
        if request.consent_id is None:
            raise AuthorizationRequestError("invalid_request", "consent_id required here")


def test_consent_gate_can_refuse_before_anything_is_stored(frozen_clock: FrozenClock) -> None:
    store = MemoryPushedRequestStore()
    request = validate_pushed_parameters(_params(), CLIENT)
    with pytest.raises(AuthorizationRequestError, match="consent_id required"):
        asyncio.run(push(store, request, consent_gate=RefusingGate()))
    assert len(store) == 0
    admitted = validate_pushed_parameters(_params(consent_id="cns_1"), CLIENT)
    pushed = asyncio.run(push(store, admitted, consent_gate=RefusingGate()))
    assert _redeem(store, pushed.request_uri).consent_id == "cns_1"
