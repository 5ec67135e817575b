"""OAuth builders: clients with real keys, client assertions, DPoP proofs and a client caller.

`client_caller(app, tenant, scopes)` is what other domains use to call routes whose audience is
"client": an HTTP client carrying a DPoP-bound access token that signs a fresh proof per request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from collections.abc import AsyncGenerator, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oauth2.auth import TokenAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from jwt.algorithms import ECAlgorithm
from litestar import Litestar

from puhui.identity.passwords import hash_password
from puhui.oauth.client_assertion import CLIENT_ASSERTION_TYPE
from puhui.oauth.keys import jwk_thumbprint
from puhui.oauth.models import (
    ClientAuthMethod,
    ClientEnvironment,
    ClientStatus,
    OAuthClient,
)
from puhui.security.digest import content_digest
from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request
from puhui.tenancy.models import Tenant
from tests.conftest import http_client

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` fork and flags plain httpx (which the app's ASGI
    # transport and every other test use) as deprecated, once, at import.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2ClientAuth
    from authlib.integrations.httpx_client.utils import build_request

ISSUER = "http://127.0.0.1:8000"
TOKEN_URL = f"{ISSUER}/oauth/token"
PAR_URL = f"{ISSUER}/oauth/par"
REDIRECT_URI = "https://partner.example/callback"
CLIENT_SECRET = "phs_sandbox-secret-for-tests-0123456789"
_SECRET_HASH = hash_password(CLIENT_SECRET)


@dataclass
class EcKey:
    """An ES256 key pair with its public JWK (kid = RFC 7638 thumbprint)."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        jwk["kid"] = jwk_thumbprint(jwk)
        jwk["use"] = "sig"
        jwk["alg"] = "ES256"
        return jwk

    @property
    def kid(self) -> str:
        return str(self.public_jwk["kid"])

    @property
    def jkt(self) -> str:
        return jwk_thumbprint(ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True))


@dataclass
class RegisteredClient:
    row: OAuthClient
    key: EcKey

    @property
    def client_id(self) -> str:
        return self.row.client_id


async def create_client(
    app: Litestar,
    tenant: Tenant,
    *,
    scopes: Iterable[str] = ("accounts.read",),
    grant_types: Iterable[str] = ("client_credentials",),
    auth_method: ClientAuthMethod = ClientAuthMethod.PRIVATE_KEY_JWT,
    environment: ClientEnvironment = ClientEnvironment.SANDBOX,
    require_dpop: bool = False,
    redirect_uris: Iterable[str] = (REDIRECT_URI,),
) -> RegisteredClient:
    key = EcKey()
    secret = auth_method is ClientAuthMethod.CLIENT_SECRET_BASIC
    async with app.state.db.unit_of_work(tenant.id) as session:
        row = OAuthClient(
            tenant_id=tenant.id,
            client_id="ph_" + secrets.token_urlsafe(12),
            name="Test client",
            environment=environment,
            status=ClientStatus.ACTIVE,
            auth_method=auth_method,
            redirect_uris=list(redirect_uris),
            grant_types=sorted(grant_types),
            scopes=sorted(scopes),
            jwks=None if secret else {"keys": [key.public_jwk]},
            secret_hash=_SECRET_HASH if secret else None,
            ip_allowlist=[],
            rate_plan="sandbox",
            require_dpop=require_dpop,
        )
        session.add(row)
    return RegisteredClient(row, key)


def client_assertion(
    client: RegisteredClient,
    *,
    aud: Any = ISSUER,
    jti: str | None = None,
    lifetime: int = 50,
    key: EcKey | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": aud,
        "jti": jti or secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + lifetime,
    }
    signer = key or client.key
    return jwt.encode(claims, signer.private, algorithm="ES256", headers={"kid": signer.kid})


def assertion_form(client: RegisteredClient, **kwargs: Any) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(client, **kwargs),
    }


def dpop_proof(
    key: EcKey,
    method: str,
    url: str,
    *,
    access_token: str | None = None,
    nonce: str | None = None,
    jti: str | None = None,
    iat: int | None = None,
) -> str:
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": method,
        "htu": url,
        "iat": iat if iat is not None else int(time.time()),
    }
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(
        claims,
        key.private,
        algorithm="ES256",
        headers={
            "typ": "dpop+jwt",
            "jwk": ECAlgorithm.to_jwk(key.private.public_key(), as_dict=True),
        },
    )


async def dpop_nonce(http: httpx.AsyncClient) -> str:
    """A current DPoP nonce, as a client learns it (RFC 9449 8): from a refused first try."""
    response = await http.post(TOKEN_URL, data={"grant_type": "client_credentials"})
    nonce = response.headers.get("dpop-nonce")
    assert nonce, response.text
    return str(nonce)


async def token_with_dpop(
    http: httpx.AsyncClient,
    client: RegisteredClient,
    dpop_key: EcKey,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    """POST to the token endpoint with private_key_jwt and a DPoP proof (nonce dance included)."""
    body = {"grant_type": "client_credentials", **(form or {})}
    nonce = await dpop_nonce(http)
    return await http.post(
        TOKEN_URL,
        data={**body, **assertion_form(client)},
        headers={"DPoP": dpop_proof(dpop_key, "POST", TOKEN_URL, nonce=nonce)},
    )


class DPoPAuth(httpx.Auth):
    """Per request: a fresh DPoP proof for the bound token (RFC 9449 7) and, when a signing key
    is given, the RFC 9421 message signature the gateway requires of clients (JR/T 0185)."""

    def __init__(
        self,
        access_token: str,
        key: EcKey,
        signing_key: EcKey | None = None,
        *,
        proof: str | None = None,
        scheme: str = "DPoP",
    ) -> None:
        self.access_token = access_token
        self.key = key
        self.signing_key = signing_key
        self.proof = proof  # a fixed proof (replays, tampering); None signs a fresh one
        self.scheme = scheme

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        bind_dpop_token(
            request,
            self.access_token,
            self.key,
            self.signing_key,
            proof=self.proof,
            scheme=self.scheme,
        )
        yield request


def bind_dpop_token(
    request: httpx.Request,
    access_token: str,
    key: EcKey,
    signing_key: EcKey | None,
    *,
    proof: str | None = None,
    scheme: str = "DPoP",
) -> None:
    """Present a DPoP-bound token on `request`: the Authorization header, a fresh proof for this
    very request (RFC 9449 7) and, with `signing_key`, the RFC 9421 signature (JR/T 0185)."""
    url = str(request.url.copy_with(query=None, fragment=None))
    request.headers["Authorization"] = f"{scheme} {access_token}"
    if proof is None:
        proof = dpop_proof(key, request.method, url, access_token=access_token)
    if proof:
        request.headers["DPoP"] = proof
    if signing_key is not None:
        body = request.content
        components = ["@method", "@target-uri"]
        if body:
            request.headers["Content-Digest"] = content_digest(body)
            components.append("content-digest")
        signed = sign_request(
            HttpRequest(request.method, str(request.url), dict(request.headers)),
            SignatureKey("ecdsa-p256-sha256", signing_key.private, keyid=signing_key.kid),
            components=components,
        )
        request.headers["Signature-Input"] = signed.signature_input
        request.headers["Signature"] = signed.signature


async def client_caller(app: Litestar, tenant: Tenant, scopes: Iterable[str]) -> httpx.AsyncClient:
    """An HTTP client for a new OAuth client of `tenant` with a DPoP-bound token for `scopes`."""
    scopes = sorted(scopes)
    client = await create_client(app, tenant, scopes=scopes)
    dpop_key = EcKey()
    http = http_client(app)
    response = await token_with_dpop(http, client, dpop_key, {"scope": " ".join(scopes)})
    assert response.status_code == 200, response.text
    http.auth = DPoPAuth(response.json()["access_token"], dpop_key, signing_key=client.key)
    return http


# ---------------------------------------------------------------- authlib's own OAuth client
#
# authlib's httpx client drives the protocol (PKCE S256, private_key_jwt, code exchange, refresh);
# authlib has no DPoP, so two httpx Auth classes plugged into it add the proofs: one for the
# token and PAR endpoints (client authentication + DPoP proof, retried once with the server
# nonce, RFC 9449 8), one presenting the bound access token on resource calls.


class FreshPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """authlib's `private_key_jwt` with a new `jti` and a 50 s lifetime on every request.

    authlib's own `PrivateKeyJWT` keeps one `claims` dict for all requests (so one jti, one exp);
    FAPI 2.0 and our server want a single-use assertion that expires within 60 s.
    """

    def __init__(self, issuer: str, kid: str) -> None:
        super().__init__(issuer, headers={"kid": kid}, alg="ES256")

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,  # authlib uses it as `aud`: our issuer (FAPI 2.0)
            claims={"jti": secrets.token_urlsafe(24)},
            header=dict(self.headers),
            alg=self.alg,
            expires_in=50,
        )


@dataclass
class DPoPHolder:
    """The client's DPoP key and the latest server nonce it was given."""

    key: EcKey
    signing_key: EcKey
    nonce: str | None = None


class DPoPClientAuth(OAuth2ClientAuth):  # type: ignore[misc]
    """authlib's client authentication, plus a DPoP proof; retried once with a server nonce."""

    requires_response_body = True
    holder: DPoPHolder

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        for attempt in range(2):
            # Every try is signed afresh: the client assertion's jti is single use too.
            url, headers, signed_body = self.prepare(
                request.method, str(request.url), request.headers.copy(), body
            )
            headers["Content-Length"] = str(len(signed_body))
            headers["DPoP"] = dpop_proof(
                self.holder.key, request.method, str(url), nonce=self.holder.nonce
            )
            response = yield build_request(
                url=url, headers=headers, body=signed_body, initial_request=request
            )
            nonce = response.headers.get("dpop-nonce")
            if nonce:
                self.holder.nonce = nonce
            asked_for_nonce = response.status_code in {400, 401} and (
                "use_dpop_nonce" in response.text
            )
            if not asked_for_nonce or attempt:
                return


class DPoPTokenAuth(httpx.Auth, TokenAuth):  # type: ignore[misc]
    """Presents the DPoP-bound access token authlib holds, with a proof per request."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        holder: DPoPHolder = self.client.dpop
        token = str(self.token["access_token"])
        bind_dpop_token(request, token, holder.key, holder.signing_key)
        yield request


class FapiClient(AsyncOAuth2Client):  # type: ignore[misc]
    """authlib's `AsyncOAuth2Client` for one registered client, FAPI 2.0 style.

    PKCE S256 and private_key_jwt come from authlib; `push()` makes the PAR request through the
    same client and its client authentication; `dpop` holds the proof key and server nonce.
    """

    client_auth_class = DPoPClientAuth
    token_auth_class = DPoPTokenAuth

    def __init__(
        self, registered: RegisteredClient, *, issuer: str = ISSUER, **httpx_kwargs: Any
    ) -> None:
        self.dpop = DPoPHolder(key=EcKey(), signing_key=registered.key)
        private_jwk = ECAlgorithm.to_jwk(registered.key.private, as_dict=True)
        super().__init__(
            client_id=registered.client_id,
            client_secret=ECKey.import_key(private_jwk),
            token_endpoint_auth_method=FreshPrivateKeyJWT(issuer, registered.key.kid),
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
            token_endpoint=f"{issuer}/oauth/token",  # authlib metadata: fetch and refresh here
            base_url=issuer,
            **httpx_kwargs,
        )
        self.issuer = issuer

    def client_auth(self, auth_method: Any) -> DPoPClientAuth:
        auth: DPoPClientAuth = super().client_auth(auth_method)
        auth.holder = self.dpop
        return auth

    async def push(self, params: dict[str, str]) -> httpx.Response:
        """RFC 9126: POST the authorization request, authenticated, to the PAR endpoint."""
        return await self.post(
            f"{self.issuer}/oauth/par",
            data=params,
            auth=self.client_auth(self.token_endpoint_auth_method),
        )
