"""authlib's authorization server bound to Puhui: grants, client auth, introspection, revocation.

authlib is synchronous, so it never touches I/O here. The async side (`token_endpoint`) first
authenticates the client, verifies DPoP and loads the code or refresh token into a
`TokenContext`; authlib then runs its grant logic on that context alone (pure and fast, in the
event loop), and the async side persists what the context collected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidScopeError,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from puhui.clock import utcnow
from puhui.oauth.jwt_tokens import IssuedAccessToken, hash_token, new_refresh_token
from puhui.oauth.models import OAuthClient, OAuthGrant, RefreshToken

if TYPE_CHECKING:
    from puhui.oauth.runtime import OAuthRuntime

__all__ = [
    "CLIENT_AUTH_METHODS",
    "AuthenticatedClient",
    "EndpointRequest",
    "KnownToken",
    "PuhuiAuthorizationServer",
    "TokenContext",
]

CLIENT_AUTH_METHODS: Final = ["private_key_jwt", "client_secret_basic"]


class AuthenticatedClient(ClientMixin):  # type: ignore[misc]
    """authlib's view of a client the async side has already authenticated."""

    def __init__(self, row: OAuthClient) -> None:
        self.row = row
        self.client_id = row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # FAPI 2.0: redirect_uri is always sent (in the pushed request)

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.row.scopes)
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(sorted(set(scope.split()) & allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris  # exact string match

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # secrets are checked by the async side (argon2 off the event loop)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.row.auth_method.value

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types


@dataclass(frozen=True, slots=True)
class KnownToken(TokenMixin):  # type: ignore[misc]
    """A token found for introspection or revocation: an access JWT or a refresh token."""

    kind: str
    client_id: str
    tenant_id: str
    scope: str
    subject: str
    issued_at: datetime
    expires_at: datetime
    revoked: bool
    jti: str | None = None
    jkt: str | None = None
    consent_id: str | None = None
    grant_id: str | None = None

    def check_client(self, client: AuthenticatedClient) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass(slots=True)
class TokenContext:
    """What the async side prefetched for one request, and what authlib's run produced."""

    runtime: OAuthRuntime
    client: AuthenticatedClient | None
    auth_method: str | None
    dpop_jkt: str | None = None
    grant: OAuthGrant | None = None
    refresh: RefreshToken | None = None
    subject: str | None = None
    token: KnownToken | None = None
    issued: IssuedAccessToken | None = None
    refresh_token: str | None = None
    revoke: list[KnownToken] = field(default_factory=list)


class EndpointRequest(OAuth2Request):  # type: ignore[misc]
    """An `OAuth2Request` built from a Litestar form post plus its prefetched context.

    Transport security is the deployment's (the issuer must be https outside the sandbox), so
    authlib's own http check, which cannot see a TLS-terminating proxy, is not repeated here.
    """

    def __init__(
        self,
        method: str,
        uri: str,
        form: Mapping[str, str],
        headers: Mapping[str, str],
        context: TokenContext,
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers = dict(headers)
        self._body = None
        self._form = dict(form)
        self.payload = BasicOAuth2Payload(self._form)
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self.context = context

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


def _context(request: Any) -> TokenContext:
    context = getattr(request, "context", None)
    if not isinstance(context, TokenContext):
        raise RuntimeError("authlib called without a Puhui token context")
    return context


def _authenticated(method: str) -> Any:
    """A client-auth function for authlib: the client the async side authenticated by `method`."""

    def authenticate(query_client: Any, request: Any) -> AuthenticatedClient | None:
        context = _context(request)
        if context.auth_method != method:
            return None
        return context.client

    return authenticate


class _CustomerUser:
    def __init__(self, subject: str) -> None:
        self.subject = subject


class _IssuingGrant:
    """Token issuance shared by the grants: an RFC 9068 JWT, DPoP-bound when a proof came."""

    request: EndpointRequest

    def generate_token(
        self,
        user: _CustomerUser | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        context = _context(self.request)
        client = context.client
        if client is None:
            raise RuntimeError("token issued without an authenticated client")
        grant = context.grant
        consent_id = str(grant.consent_id) if grant is not None else None
        if not scope:  # RFC 6749 3.3: the registered (or originally granted) scope
            scope = grant.scope if grant is not None else client.get_allowed_scope(None)
        issued = context.runtime.tokens.issue(
            subject=user.subject if user is not None else client.client_id,
            client_id=client.client_id,
            audience=context.runtime.audience,
            scope=(scope or "").split(),
            tenant_id=str(client.row.tenant_id),
            consent_id=consent_id,
            jkt=context.dpop_jkt,
        )
        context.issued = issued
        token: dict[str, Any] = {
            "access_token": issued.token,
            # RFC 9449 5: a DPoP-bound token is of type DPoP
            "token_type": "DPoP" if context.dpop_jkt else "Bearer",
            "expires_in": issued.expires_in,
            "scope": " ".join(sorted(issued.claims.scope)),
        }
        if include_refresh_token:
            context.refresh_token = new_refresh_token()
            token["refresh_token"] = context.refresh_token
        return token


class PuhuiClientCredentialsGrant(_IssuingGrant, ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        client = _context(self.request).client
        if client is None:
            raise RuntimeError("scope checked without an authenticated client")
        requested = set((self.request.payload.scope or "").split())
        if not requested <= set(client.row.scopes):
            raise InvalidScopeError("scope exceeds what the client is registered for")
        if not requested:  # RFC 6749 3.3: no scope asked means the client's registered scope
            self.request.scope = client.get_allowed_scope(None)


class _GrantCode:
    """authlib's view of a stored authorization code (already claimed by the async side)."""

    def __init__(self, grant: OAuthGrant) -> None:
        self.grant = grant

    def get_redirect_uri(self) -> str:
        return self.grant.redirect_uri

    def get_scope(self) -> str:
        return self.grant.scope

    @property
    def code_challenge(self) -> str:  # read by authlib's CodeChallenge (RFC 7636 4.6)
        return self.grant.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return "S256"


class PuhuiAuthorizationCodeGrant(_IssuingGrant, AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_authorization_code(self, code: str, client: AuthenticatedClient) -> Any:
        grant = _context(self.request).grant
        if grant is None or grant.client_id != client.client_id:
            return None
        if grant.code_hash != hash_token(code) or utcnow() >= grant.code_expires_at:
            return None
        return _GrantCode(grant)

    def delete_authorization_code(self, authorization_code: Any) -> None:
        """Nothing to do: the async side claimed the code atomically before authlib ran."""

    def authenticate_user(self, authorization_code: _GrantCode) -> _CustomerUser:
        return _CustomerUser(str(authorization_code.grant.customer_id))

    def save_authorization_code(self, code: str, request: Any) -> None:
        raise RuntimeError("codes are issued by puhui.oauth.service.issue_authorization_code")


class _StoredRefresh:
    def __init__(self, row: RefreshToken, grant: OAuthGrant) -> None:
        self.row = row
        self.grant = grant

    def check_client(self, client: AuthenticatedClient) -> bool:
        return self.grant.client_id == client.client_id

    def get_scope(self) -> str:
        return self.grant.scope


class PuhuiRefreshTokenGrant(_IssuingGrant, RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation on every use

    def authenticate_refresh_token(self, refresh_token: str) -> _StoredRefresh | None:
        context = _context(self.request)
        row, grant = context.refresh, context.grant
        if row is None or grant is None or row.token_hash != hash_token(refresh_token):
            return None
        if utcnow() >= row.expires_at or grant.revoked_at is not None:
            return None
        return _StoredRefresh(row, grant)

    def authenticate_user(self, refresh_token: _StoredRefresh) -> _CustomerUser:
        return _CustomerUser(str(refresh_token.grant.customer_id))

    def revoke_old_credential(self, refresh_token: _StoredRefresh) -> None:
        """Nothing to do: the async side marked the presented token rotated atomically."""


def _token_type(token: KnownToken) -> str:
    if token.kind == "refresh_token":
        return "refresh_token"
    return "DPoP" if token.jkt else "Bearer"


class PuhuiIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    # authlib runs synchronously in the event loop with no await in between, so the request
    # remembered here cannot be another request's.
    _request: Any = None

    def create_endpoint_response(self, request: Any) -> Any:
        self._request = request
        return super().create_endpoint_response(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> KnownToken | None:
        return _context(self._request).token

    def check_permission(
        self, token: KnownToken, client: AuthenticatedClient, request: Any
    ) -> bool:
        # A client may introspect only its own tokens (RFC 7662 4: no token scanning).
        return token.client_id == client.client_id

    def introspect_token(self, token: KnownToken) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "token_type": _token_type(token),
            "scope": token.scope,
            "sub": token.subject,
            "iss": _context(self._request).runtime.issuer,
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
            "tenant_id": token.tenant_id,
        }
        if token.kind == "access_token":
            payload["aud"] = _context(self._request).runtime.audience
            payload["jti"] = token.jti
        if token.jkt:
            payload["cnf"] = {"jkt": token.jkt}
        if token.consent_id:
            payload["consent_id"] = token.consent_id
        return payload


class PuhuiRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS
    _request: Any = None  # see PuhuiIntrospectionEndpoint

    def create_endpoint_response(self, request: Any) -> Any:
        self._request = request
        return super().create_endpoint_response(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> KnownToken | None:
        return _context(self._request).token

    def revoke_token(self, token: KnownToken, request: Any) -> None:
        _context(request).revoke.append(token)


class PuhuiAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """The token, introspection and revocation endpoints' grant logic (authlib)."""

    def __init__(self) -> None:
        super().__init__(scopes_supported=None)
        for method in CLIENT_AUTH_METHODS:
            self.register_client_auth_method(method, _authenticated(method))
        self.register_grant(PuhuiClientCredentialsGrant)
        # FAPI 2.0 5.3.2.2: PKCE with S256 for every client
        self.register_grant(PuhuiAuthorizationCodeGrant, [_S256Only(required=True)])
        self.register_grant(PuhuiRefreshTokenGrant)
        self.register_endpoint(PuhuiIntrospectionEndpoint)
        self.register_endpoint(PuhuiRevocationEndpoint)

    def query_client(self, client_id: str) -> None:
        return None  # clients are looked up (async) before authlib runs

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Nothing to do: the context holds the issued token; the async side persists it."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def handle_response(
        self, status: int, body: Any, headers: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        return status, dict(body or {}), dict(headers or [])


class _S256Only(CodeChallenge):  # type: ignore[misc]
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
