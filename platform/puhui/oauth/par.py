"""Pushed authorization requests (RFC 9126) validated to the FAPI 2.0 Security Profile.

The client pushes its authorization parameters over an authenticated back channel; the
browser then carries only `client_id` and a short-lived, single-use `request_uri`.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from puhui.clock import utcnow
from puhui.oauth.pkce import CODE_CHALLENGE_METHOD, PKCEError, validate_code_challenge

if TYPE_CHECKING:
    from puhui.oauth.stores import PushedRequestStore

__all__ = [
    "DEFAULT_PAR_LIFETIME",
    "MAX_PAR_LIFETIME",
    "REQUEST_URI_PREFIX",
    "AuthorizationRequest",
    "AuthorizationRequestError",
    "ClientRegistration",
    "ConsentGate",
    "PushedAuthorizationRequest",
    "push",
    "redeem",
    "validate_pushed_parameters",
]

REQUEST_URI_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"
DEFAULT_PAR_LIFETIME: Final = timedelta(seconds=90)
MAX_PAR_LIFETIME: Final = timedelta(seconds=600)  # FAPI 2.0 Security Profile 5.3.2.2 item 12
_MAX_TEXT_PARAMETER: Final = 512
_VISIBLE_ASCII: Final = re.compile(r"[\x20-\x7e]*")  # RFC 6749 Appendix A: VSCHAR
_CONSENT_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_JKT: Final = re.compile(r"[A-Za-z0-9_\-]{43}")
_SINGLE_VALUED: Final = frozenset(
    {
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "authorization_details",
        "consent_id",
        "dpop_jkt",
        "response_mode",
    }
)


class AuthorizationRequestError(Exception):
    """A pushed or redeemed authorization request is refused; `error` is the OAuth code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    """What the registry says a client may ask for: the facts PAR validation needs."""

    client_id: str
    redirect_uris: frozenset[str]
    allowed_scopes: frozenset[str]
    authorization_details_types: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request, as the authorization endpoint will act on it."""

    client_id: str
    redirect_uri: str
    scope: frozenset[str]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    authorization_details: tuple[Mapping[str, Any], ...] = ()  # RFC 9396
    consent_id: str | None = None  # an existing consent the client asks to use or amend
    dpop_jkt: str | None = None  # RFC 9449 10: the code is bound to this DPoP key
    code_challenge_method: str = field(default=CODE_CHALLENGE_METHOD)


@dataclass(frozen=True, slots=True)
class PushedAuthorizationRequest:
    """A stored pushed request: single use, bound to its client, short-lived."""

    request_uri: str
    request: AuthorizationRequest
    created_at: datetime
    expires_at: datetime

    @property
    def client_id(self) -> str:
        return self.request.client_id

    @property
    def expires_in(self) -> int:
        return int((self.expires_at - self.created_at).total_seconds())

    def response(self) -> dict[str, str | int]:
        """The RFC 9126 2.2 response body (HTTP 201)."""
        return {"request_uri": self.request_uri, "expires_in": self.expires_in}


class ConsentGate(Protocol):
    """The lead's consent hook: admit a request's consent_id / authorization_details, or refuse.

    Raise `AuthorizationRequestError` (e.g. `invalid_authorization_details`) to refuse.
    """

    async def admit(self, request: AuthorizationRequest) -> None: ...


def _collect(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    collected: dict[str, str] = {}
    for name, value in params:
        if name in collected and name in _SINGLE_VALUED:
            # RFC 6749 3.1: request parameters must not be included more than once.
            raise AuthorizationRequestError("invalid_request", f"parameter {name!r} is repeated")
        collected.setdefault(name, value)
    return collected


def _optional_text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not value or len(value) > _MAX_TEXT_PARAMETER or not _VISIBLE_ASCII.fullmatch(value):
        raise AuthorizationRequestError("invalid_request", f"{name} is malformed")
    return value


def _authorization_details(
    raw: str | None, allowed_types: frozenset[str]
) -> tuple[Mapping[str, Any], ...]:
    if raw is None:
        return ()
    try:
        details = json.loads(raw)
    except ValueError as exc:
        raise AuthorizationRequestError(
            "invalid_authorization_details", "authorization_details is not JSON"
        ) from exc
    if not isinstance(details, list) or not details:
        raise AuthorizationRequestError(
            "invalid_authorization_details", "authorization_details must be a non-empty array"
        )
    for detail in details:
        # RFC 9396 2: every object names its type; the client must be registered for it.
        if not isinstance(detail, dict) or detail.get("type") not in allowed_types:
            raise AuthorizationRequestError(
                "invalid_authorization_details", "authorization_details type is not allowed"
            )
    return tuple(details)


def validate_pushed_parameters(
    params: Iterable[tuple[str, str]], client: ClientRegistration
) -> AuthorizationRequest:
    """Validate the form parameters of a pushed request from the authenticated `client`."""
    values = _collect(params)
    if "request_uri" in values:  # RFC 9126 2.1
        raise AuthorizationRequestError("invalid_request", "request_uri must not be pushed")
    if "request" in values:
        raise AuthorizationRequestError("request_not_supported", "request objects are not used")
    if values.get("client_id", client.client_id) != client.client_id:  # RFC 9126 2.1
        raise AuthorizationRequestError("invalid_request", "client_id is not the caller")
    if values.get("response_type") != "code":  # FAPI 2.0: authorization code flow only
        raise AuthorizationRequestError("unsupported_response_type", "response_type must be code")
    if values.get("response_mode", "query") != "query":
        raise AuthorizationRequestError("invalid_request", "response_mode must be query")
    redirect_uri = values.get("redirect_uri")
    if redirect_uri is None:  # FAPI 2.0 Security Profile 5.3.2.2: required in PAR
        raise AuthorizationRequestError("invalid_request", "redirect_uri is required")
    if redirect_uri not in client.redirect_uris:  # exact string match, no patterns
        raise AuthorizationRequestError("invalid_request", "redirect_uri is not registered")
    try:
        challenge = validate_code_challenge(
            values.get("code_challenge"), values.get("code_challenge_method")
        )
    except PKCEError as exc:
        raise AuthorizationRequestError(exc.error, exc.description) from exc
    details = _authorization_details(
        values.get("authorization_details"), client.authorization_details_types
    )
    scope = frozenset(values.get("scope", "").split())
    if not scope and not details:
        raise AuthorizationRequestError("invalid_scope", "scope or authorization_details needed")
    if not scope <= client.allowed_scopes:
        raise AuthorizationRequestError("invalid_scope", "scope exceeds what the client may ask")
    consent_id = values.get("consent_id")
    if consent_id is not None and not _CONSENT_ID.fullmatch(consent_id):
        raise AuthorizationRequestError("invalid_request", "consent_id is malformed")
    dpop_jkt = values.get("dpop_jkt")
    if dpop_jkt is not None and not _JKT.fullmatch(dpop_jkt):
        raise AuthorizationRequestError("invalid_request", "dpop_jkt is malformed")
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=challenge,
        state=_optional_text(values, "state"),
        nonce=_optional_text(values, "nonce"),
        authorization_details=details,
        consent_id=consent_id,
        dpop_jkt=dpop_jkt,
    )


async def push(
    store: PushedRequestStore,
    request: AuthorizationRequest,
    *,
    lifetime: timedelta = DEFAULT_PAR_LIFETIME,
    consent_gate: ConsentGate | None = None,
) -> PushedAuthorizationRequest:
    """Admit `request` through the consent gate and store it under a fresh `request_uri`."""
    if not timedelta(0) < lifetime <= MAX_PAR_LIFETIME:
        raise ValueError("a pushed request lives between 0 and 600 seconds")
    if consent_gate is not None:
        await consent_gate.admit(request)
    now = utcnow()
    pushed = PushedAuthorizationRequest(
        request_uri=REQUEST_URI_PREFIX + secrets.token_urlsafe(32),
        request=request,
        created_at=now,
        expires_at=now + lifetime,
    )
    await store.put(pushed)
    return pushed


async def redeem(
    store: PushedRequestStore, request_uri: str, client_id: str
) -> AuthorizationRequest:
    """At the authorization endpoint: consume the pushed request, once, for its own client."""
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise AuthorizationRequestError("invalid_request_uri", "request_uri is not ours")
    pushed = await store.take(request_uri)  # consumed even if refused below: single use
    if pushed is None:
        raise AuthorizationRequestError("invalid_request_uri", "request_uri unknown or used")
    if utcnow() >= pushed.expires_at:
        raise AuthorizationRequestError("invalid_request_uri", "request_uri has expired")
    if pushed.client_id != client_id:
        raise AuthorizationRequestError(
            "invalid_request_uri", "request_uri belongs to another client"
        )
    return pushed.request
