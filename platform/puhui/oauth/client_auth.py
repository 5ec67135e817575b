"""Client authentication at the OAuth endpoints: private_key_jwt, or client_secret_basic (sandbox).

FAPI 2.0 5.3.2.1 allows only private_key_jwt (or mTLS); a shared secret is tolerated for sandbox
clients so developers can start quickly, never in production.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote

import anyio.to_thread

from puhui.clock import utcnow
from puhui.identity.passwords import verify_password
from puhui.oauth.client_assertion import ClientKeys, InvalidClientAssertion
from puhui.oauth.jwt_tokens import parse_compact_jws
from puhui.oauth.models import ClientAuthMethod, ClientEnvironment, ClientStatus, OAuthClient
from puhui.oauth.protocol import OAuthError
from puhui.oauth.repository import ClientRepository
from puhui.oauth.runtime import OAuthRuntime

__all__ = ["authenticate_client", "secret_matches"]

_CHALLENGE: Final = {"WWW-Authenticate": 'Basic realm="puhui"'}


def _invalid(description: str, *, basic: bool = False) -> OAuthError:
    return OAuthError(
        "invalid_client", description, status=401, headers=_CHALLENGE if basic else None
    )


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("malformed Basic credentials", basic=True) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise _invalid("malformed Basic credentials", basic=True)
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def _assertion_subject(assertion: str) -> str | None:
    try:
        sub = parse_compact_jws(assertion).claims().get("sub")
    except ValueError:
        return None
    return sub if isinstance(sub, str) and sub else None


def secret_matches(client: OAuthClient, secret: str) -> bool:
    """The current secret, or the previous one while the rotation overlap lasts (argon2)."""
    if verify_password(client.secret_hash, secret):
        return True
    expires = client.previous_secret_expires_at
    return bool(
        client.previous_secret_hash
        and expires is not None
        and utcnow() < expires
        and verify_password(client.previous_secret_hash, secret)
    )


async def authenticate_client(
    runtime: OAuthRuntime,
    clients: ClientRepository,
    form: Mapping[str, str],
    headers: Mapping[str, str],
) -> OAuthClient:
    """The authenticated, active client of this request, or `OAuthError(invalid_client)`."""
    assertion = form.get("client_assertion")
    authorization = headers.get("authorization", "")
    basic = authorization[:6].lower() == "basic "
    if assertion and basic:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    if "client_secret" in form:
        raise _invalid("client_secret_post is not supported")
    if assertion:
        client_id = form.get("client_id") or _assertion_subject(assertion)
        client = await clients.by_client_id(client_id) if client_id else None
        if client is None or client.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
            raise _invalid("client authentication failed")
        try:
            keys = ClientKeys(client.client_id, jwks=client.jwks, jwks_uri=client.jwks_uri)
            await runtime.assertions.verify(
                assertion, keys, assertion_type=form.get("client_assertion_type", "")
            )
        except (InvalidClientAssertion, ValueError) as exc:
            raise _invalid("client authentication failed") from exc
    elif basic:
        client_id, secret = _basic_credentials(authorization)
        client = await clients.by_client_id(client_id)
        if (
            client is None
            or client.auth_method is not ClientAuthMethod.CLIENT_SECRET_BASIC
            or client.environment is not ClientEnvironment.SANDBOX  # sandbox only
        ):
            raise _invalid("client authentication failed", basic=True)
        # argon2 costs tens of milliseconds of CPU: off the event loop
        if not await anyio.to_thread.run_sync(secret_matches, client, secret):
            raise _invalid("client authentication failed", basic=True)
    else:
        raise _invalid("client authentication is required", basic=True)
    if client.status is ClientStatus.REVOKED:
        raise _invalid("client authentication failed")
    return client
