"""Builders for API-security tests: OAuth clients with signing keys, probe routes, and a caller
that signs every request (RFC 9421 + Content-Digest) the way a partner's SDK does."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from litestar import Controller, Litestar, get, post
from litestar.params import JSONBody

from puhui.gateway.catalogue import declare
from puhui.gateway.client_profiles import signing_secret_aad
from puhui.oauth.models import ClientAuthMethod, ClientEnvironment, ClientStatus, OAuthClient
from puhui.oauth.runtime import oauth_runtime, resource_audience
from puhui.security.digest import content_digest
from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request
from puhui.security.keyring import keyring
from puhui.tenancy.models import Tenant
from tests.builders import create_tenant, unique
from tests.conftest import http_client

BASE_URL = "http://127.0.0.1:8000"
SEEDED_PHONE = "13812345678"
SEEDED_ID = "110101199001011234"


class SecurityProbeController(Controller):
    """Client routes at both levels, registered on the test app only (service 12, seq 9xx)."""

    path = "/api/v1/security-probe"

    @get(
        "/a1",
        **declare(
            operation_id="ProbeProductInformation",
            summary="A1 probe",
            tag="Probe",
            level="A1",
            service="12",
            sequence=901,
            audience="client",
            fields={"phone": ("C2", "phone"), "id_number": ("C2", "id_number")},
        ),
    )
    async def a1(self) -> dict[str, str]:
        return {"product": "scenario-loan", "phone": SEEDED_PHONE, "id_number": SEEDED_ID}

    @post(
        "/a2",
        status_code=200,
        **declare(
            operation_id="ProbeLoanApplication",
            summary="A2 probe",
            tag="Probe",
            level="A2",
            service="12",
            sequence=902,
            audience="client",
        ),
    )
    async def a2(self, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        return {"accepted": True, "amount_fen": data.get("amount_fen")}


def install_probe_routes(app: Litestar) -> None:
    app.register(SecurityProbeController)


@dataclass
class ClientKeys:
    """A client's private keys as its SDK holds them."""

    hmac_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ec_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    ed_key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        ec_jwk = ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        ed_jwk = OKPAlgorithm.to_jwk(self.ed_key.public_key(), as_dict=True)
        return {
            "keys": [
                {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"},
                {**ed_jwk, "kid": "ed-1", "alg": "EdDSA", "use": "sig"},
            ]
        }

    def key(self, client_id: str, kind: str) -> SignatureKey:
        if kind == "hmac":
            return SignatureKey("hmac-sha256", self.hmac_secret.encode(), keyid=client_id)
        if kind == "ec":
            return SignatureKey("ecdsa-p256-sha256", self.ec_key, keyid="ec-1")
        return SignatureKey("ed25519", self.ed_key, keyid="ed-1")


async def create_client(
    app: Litestar,
    tenant: Tenant | None = None,
    *,
    keys: ClientKeys | None = None,
    ip_allowlist: Iterable[str] = (),
    rate_plan: str = "sandbox",
    environment: ClientEnvironment = ClientEnvironment.SANDBOX,
) -> tuple[Tenant, OAuthClient, ClientKeys]:
    tenant = tenant or await create_tenant(app)
    keys = keys or ClientKeys()
    row_id = uuid.uuid4()
    async with app.state.db.unit_of_work(tenant.id) as session:
        client = OAuthClient(
            id=row_id,
            tenant_id=tenant.id,
            client_id=unique("cli"),
            name="Probe client",
            environment=environment,
            status=ClientStatus.ACTIVE,
            auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["products:read"],
            jwks=keys.jwks(),
            signing_secret_enc=keyring().encrypt(keys.hmac_secret, signing_secret_aad(row_id)),
            ip_allowlist=list(ip_allowlist),
            rate_plan=rate_plan,
            require_dpop=False,
        )
        session.add(client)
    return tenant, client, keys


def access_token(
    app: Litestar,
    tenant: Tenant,
    client: OAuthClient,
    *,
    scopes: Iterable[str] = (),
    consent_id: uuid.UUID | None = None,
) -> str:
    runtime = oauth_runtime(app.state)
    issued = runtime.tokens.issue(
        subject=client.client_id,
        client_id=client.client_id,
        audience=resource_audience(app.state.settings.issuer),
        scope=scopes,
        tenant_id=str(tenant.id),
        consent_id=str(consent_id) if consent_id else None,
    )
    return issued.token


def signed_headers(
    key: SignatureKey,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    token: str | None = None,
    nonce: str | None = None,
    created: Any = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Headers for one signed call: Content-Digest (with a body) and Signature(-Input)."""
    headers: dict[str, str] = dict(extra or {})
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    components = ["@method", "@target-uri"]
    if body:
        headers["content-type"] = "application/json"
        headers["content-digest"] = content_digest(body)
        components.append("content-digest")
    signed = sign_request(
        HttpRequest(method, BASE_URL + path, headers),
        key,
        components=components,
        nonce=nonce,
        created=created,
    )
    headers["signature-input"] = signed.signature_input
    headers["signature"] = signed.signature
    return headers


@dataclass
class SignedCaller:
    """One client of one tenant calling through the real pipeline, signing like its SDK."""

    app: Litestar
    http: httpx.AsyncClient
    tenant: Tenant
    client: OAuthClient
    keys: ClientKeys
    token: str

    async def call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        key: str = "hmac",
        nonce: str | None = None,
        created: Any = None,
        extra: Mapping[str, str] | None = None,
        tamper: bytes | None = None,
    ) -> httpx.Response:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = signed_headers(
            self.keys.key(self.client.client_id, key),
            method,
            path,
            body,
            token=self.token,
            nonce=nonce,
            created=created,
            extra=extra,
        )
        return await self.http.request(method, path, content=tamper or body, headers=headers)


async def signed_caller(
    app: Litestar,
    *,
    ip_allowlist: Iterable[str] = (),
    rate_plan: str = "sandbox",
    scopes: Iterable[str] = (),
    consent_id: uuid.UUID | None = None,
) -> SignedCaller:
    tenant, client, keys = await create_client(app, ip_allowlist=ip_allowlist, rate_plan=rate_plan)
    token = access_token(app, tenant, client, scopes=scopes, consent_id=consent_id)
    return SignedCaller(app, http_client(app), tenant, client, keys, token)
