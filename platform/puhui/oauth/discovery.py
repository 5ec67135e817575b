"""RFC 8414 authorization server metadata: what this server really supports, nothing more."""

from __future__ import annotations

from typing import Any

from puhui.oauth.client_assertion import CLIENT_ASSERTION_ALGORITHMS
from puhui.oauth.dpop import DPOP_ALGORITHMS
from puhui.oauth.server import CLIENT_AUTH_METHODS

__all__ = ["server_metadata"]


def server_metadata(issuer: str, *, signing_algs: list[str], scopes: list[str]) -> dict[str, Any]:
    """`scopes`: the scope registry (`puhui.oauth.scopes.declared_scopes`)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "pushed_authorization_request_endpoint": f"{issuer}/oauth/par",
        "require_pushed_authorization_requests": True,  # FAPI 2.0 5.3.2.2
        "token_endpoint": f"{issuer}/oauth/token",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "registration_endpoint": f"{issuer}/oauth/register",
        "jwks_uri": f"{issuer}/jwks.json",
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": sorted(CLIENT_ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": sorted(
            CLIENT_ASSERTION_ALGORITHMS
        ),
        "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": sorted(
            CLIENT_ASSERTION_ALGORITHMS
        ),
        "dpop_signing_alg_values_supported": sorted(DPOP_ALGORITHMS),
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "access_token_signing_alg_values_supported": signing_algs,
    }
