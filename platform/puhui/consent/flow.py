"""The redeemed pushed request, kept in the customer's authorize session between page steps.

A ``request_uri`` is single use, so the authorization endpoint redeems it once on arrival and
carries the request through login, one-time code and consent in its own session row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from puhui.oauth.par import AuthorizationRequest, PushedAuthorizationRequest

__all__ = ["pushed_from_context", "pushed_to_context"]


def pushed_to_context(pushed: PushedAuthorizationRequest) -> dict[str, Any]:
    request = pushed.request
    return {
        "request_uri": pushed.request_uri,
        "created_at": pushed.created_at.isoformat(),
        "expires_at": pushed.expires_at.isoformat(),
        "request": {
            "client_id": request.client_id,
            "redirect_uri": request.redirect_uri,
            "scope": sorted(request.scope),
            "code_challenge": request.code_challenge,
            "code_challenge_method": request.code_challenge_method,
            "state": request.state,
            "nonce": request.nonce,
            "authorization_details": [dict(d) for d in request.authorization_details],
            "consent_id": request.consent_id,
            "dpop_jkt": request.dpop_jkt,
        },
    }


def pushed_from_context(context: dict[str, Any]) -> PushedAuthorizationRequest:
    raw = context["request"]
    return PushedAuthorizationRequest(
        request_uri=str(context["request_uri"]),
        created_at=datetime.fromisoformat(context["created_at"]),
        expires_at=datetime.fromisoformat(context["expires_at"]),
        request=AuthorizationRequest(
            client_id=str(raw["client_id"]),
            redirect_uri=str(raw["redirect_uri"]),
            scope=frozenset(raw["scope"]),
            code_challenge=str(raw["code_challenge"]),
            code_challenge_method=str(raw["code_challenge_method"]),
            state=raw["state"],
            nonce=raw["nonce"],
            authorization_details=tuple(raw["authorization_details"]),
            consent_id=raw["consent_id"],
            dpop_jkt=raw["dpop_jkt"],
        ),
    )
