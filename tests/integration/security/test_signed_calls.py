"""Steps 6-8 and 11-13 through HTTP: signatures, anti-replay, IP rules, masking, response
signatures and the audit record of every call (JR/T 0185-2020)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.conftest import http_client
from tests.consent_builders import authorised_consent, create_customer
from tests.security_builders import (
    BASE_URL,
    SEEDED_ID,
    SEEDED_PHONE,
    SignedCaller,
    access_token,
    create_client,
    install_probe_routes,
    signed_caller,
)

from puhui.app import create_app
from puhui.audit.models import AuditRecord
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.errors import PROBLEM_TYPES
from puhui.gateway.steps import quota
from puhui.gateway.steps.controls import RESPONSE_SIGNING_PURPOSE
from puhui.gateway.steps.masking import REVEAL_SCOPE
from puhui.gateway.steps.quota import TenantPlan
from puhui.oauth.keys import KeyRing
from puhui.security.digest import content_digest, verify_content_digest
from puhui.security.httpsig import HttpRequest, HttpResponse, SignatureKey, verify_response
from puhui.security.ratelimit import RatePlan

pytestmark = pytest.mark.anyio


@pytest.fixture
async def probe_app(app: Litestar) -> AsyncIterator[Litestar]:
    install_probe_routes(app)
    async with app.lifespan():
        yield app


async def _records(app: Litestar, request_id: str) -> list[AuditRecord]:
    async with app.state.db.unit_of_work() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.request_id == request_id)
        )
        return list(rows)


def _problem(response: httpx.Response) -> str:
    return str(response.json()["type"]).rsplit("/", 1)[-1]


class TestA1HmacCall:
    async def test_signed_call_answers_masked_with_rate_headers_and_one_sealed_record(
        self, probe_app: Litestar
    ) -> None:
        caller = await signed_caller(probe_app)
        response = await caller.call("GET", "/api/v1/security-probe/a1")

        assert response.status_code == 200, response.text
        assert response.json() == {
            "product": "scenario-loan",
            "phone": "138****5678",
            "id_number": "1101**********1234",
        }
        assert response.headers["ratelimit-policy"].startswith('"burst";q=20')
        assert "ratelimit" in response.headers
        records = await _records(probe_app, response.headers["x-request-id"])
        assert len(records) == 1  # committed before the response was sent
        record = records[0]
        assert record.api_id == "OPPHBANK0112901"
        assert record.api_level == "A1"
        assert record.actor_client_id == caller.client.client_id
        assert record.actor_tenant_id == caller.tenant.id
        assert record.status_code == 200
        assert record.outcome == "success"
        assert record.client_ip == "127.0.0.1"
        assert record.latency_us is not None
        assert record.latency_us > 0
        assert record.seq is not None
        assert record.chain_hash is not None

    async def test_scope_without_consent_stays_masked(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app, scopes=[REVEAL_SCOPE])
        response = await caller.call("GET", "/api/v1/security-probe/a1")
        assert response.json()["phone"] == "138****5678"

    async def test_c2_in_clear_only_with_reveal_scope_and_a_live_consent(
        self, probe_app: Litestar
    ) -> None:
        tenant, client, keys = await create_client(probe_app)
        customer = await create_customer(probe_app)
        consent = await authorised_consent(probe_app, tenant, client.client_id, customer)

        async def call(scopes: list[str]) -> dict[str, str]:
            token = access_token(probe_app, tenant, client, scopes=scopes, consent_id=consent.id)
            caller = SignedCaller(probe_app, http_client(probe_app), tenant, client, keys, token)
            response = await caller.call("GET", "/api/v1/security-probe/a1")
            assert response.status_code == 200, response.text
            return dict(response.json())

        revealed = await call([REVEAL_SCOPE])
        masked = await call([])
        assert revealed["phone"] == SEEDED_PHONE
        assert revealed["id_number"] == SEEDED_ID
        assert masked["phone"] == "138****5678"
        assert masked["id_number"] == "1101**********1234"

    async def test_unsigned_call_is_refused(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        response = await caller.http.get(
            "/api/v1/security-probe/a1", headers={"authorization": f"Bearer {caller.token}"}
        )
        assert response.status_code == 401
        assert _problem(response) == "signature-invalid"
        records = await _records(probe_app, response.headers["x-request-id"])
        assert [r.outcome for r in records] == ["refused"]
        assert records[0].details["problem"] == "signature-invalid"

    async def test_replayed_nonce_is_refused(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        first = await caller.call("GET", "/api/v1/security-probe/a1", nonce="n-once-1")
        again = await caller.call("GET", "/api/v1/security-probe/a1", nonce="n-once-1")
        assert first.status_code == 200
        assert again.status_code == 401
        assert _problem(again) == "replay-detected"

    async def test_stale_created_is_refused(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        stale = utcnow() - timedelta(seconds=301)
        response = await caller.call("GET", "/api/v1/security-probe/a1", created=stale)
        assert response.status_code == 401
        assert _problem(response) == "signature-expired"

    async def test_created_within_skew_is_accepted(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        skewed = utcnow() + timedelta(seconds=250)
        response = await caller.call("GET", "/api/v1/security-probe/a1", created=skewed)
        assert response.status_code == 200

    async def test_wrong_key_is_refused_without_revealing_expected_values(
        self, probe_app: Litestar
    ) -> None:
        caller = await signed_caller(probe_app)
        impostor = await signed_caller(probe_app)
        # the impostor's secret under the victim's keyid
        caller.keys.hmac_secret = impostor.keys.hmac_secret
        response = await caller.call("GET", "/api/v1/security-probe/a1")
        assert response.status_code == 401
        assert _problem(response) == "signature-invalid"
        text = response.text
        assert impostor.keys.hmac_secret not in text
        assert "sig1=:" not in text
        assert "expected" not in text.lower()

    async def test_signature_by_another_clients_keyid_is_refused(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        other = await signed_caller(probe_app)
        caller.client.client_id, real = other.client.client_id, caller.client.client_id
        response = await caller.call("GET", "/api/v1/security-probe/a1")
        caller.client.client_id = real
        assert response.status_code == 401
        assert _problem(response) == "signature-invalid"


class TestA2AsymmetricCall:
    async def test_hmac_is_not_enough_for_a2(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        response = await caller.call(
            "POST", "/api/v1/security-probe/a2", {"amount_fen": 100_000_00}, key="hmac"
        )
        assert response.status_code == 401
        assert _problem(response) == "signature-invalid"

    @pytest.mark.parametrize("key", ["ec", "ed"])
    async def test_asymmetric_signature_gets_a_signed_response(
        self, probe_app: Litestar, key: str
    ) -> None:
        caller = await signed_caller(probe_app)
        response = await caller.call(
            "POST", "/api/v1/security-probe/a2", {"amount_fen": 100_000_00}, key=key
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": True, "amount_fen": 100_000_00}
        # The partner verifies the bank's signature with the key published for responses.
        verify_content_digest(response.headers["content-digest"], response.content)
        published = KeyRing(
            probe_app.state.settings.key_dir, purpose=RESPONSE_SIGNING_PURPOSE
        ).current()
        jwks = published.public_jwks()["keys"]

        def resolve(keyid: str) -> SignatureKey | None:
            jwk = next((k for k in jwks if k["kid"] == keyid), None)
            return SignatureKey.from_jwk(jwk) if jwk else None

        request = response.request
        verified = verify_response(
            HttpResponse(response.status_code, dict(response.headers)),
            resolve_key=resolve,
            request=HttpRequest(request.method, str(request.url), dict(request.headers)),
            required_components=("@status", "content-digest", '"signature";req;key="sig1"'),
            label="bank",
        )
        assert verified.keyid == published.active.kid

    async def test_tampered_body_is_refused(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app)
        response = await caller.call(
            "POST",
            "/api/v1/security-probe/a2",
            {"amount_fen": 100},
            key="ec",
            tamper=msgspec.json.encode({"amount_fen": 100_000_000}),
        )
        assert response.status_code == 401
        assert _problem(response) == "signature-invalid"


class TestIpRule:
    async def test_call_from_outside_the_allow_list_is_refused(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app, ip_allowlist=["10.0.0.0/8", "2001:db8::/32"])
        response = await caller.call("GET", "/api/v1/security-probe/a1")
        assert response.status_code == 403
        assert _problem(response) == "ip-not-allowed"
        assert "10.0.0.0" not in response.text

    async def test_call_from_inside_the_allow_list_passes(self, probe_app: Litestar) -> None:
        caller = await signed_caller(probe_app, ip_allowlist=["2001:db8::/32", "127.0.0.0/8"])
        response = await caller.call("GET", "/api/v1/security-probe/a1")
        assert response.status_code == 200

    async def test_forwarded_for_is_ignored_from_an_untrusted_peer(
        self, probe_app: Litestar
    ) -> None:
        caller = await signed_caller(probe_app, ip_allowlist=["203.0.113.0/24"])
        response = await caller.call(
            "GET", "/api/v1/security-probe/a1", extra={"x-forwarded-for": "203.0.113.7"}
        )
        assert response.status_code == 403

    async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
        self, settings: Settings
    ) -> None:
        proxied = create_app(msgspec.structs.replace(settings, trusted_proxies="127.0.0.1/32"))
        install_probe_routes(proxied)
        async with proxied.lifespan():
            caller = await signed_caller(proxied, ip_allowlist=["203.0.113.0/24", "2001:db8::/32"])
            inside = await caller.call(
                "GET", "/api/v1/security-probe/a1", extra={"x-forwarded-for": "203.0.113.7"}
            )
            v6 = await caller.call(
                "GET", "/api/v1/security-probe/a1", extra={"x-forwarded-for": "2001:db8::5"}
            )
            outside = await caller.call(
                "GET", "/api/v1/security-probe/a1", extra={"x-forwarded-for": "198.51.100.1"}
            )
        assert inside.status_code == 200
        assert v6.status_code == 200
        assert outside.status_code == 403
        records = await _records(proxied, inside.headers["x-request-id"])
        assert records[0].client_ip == "203.0.113.7"


async def test_member_calls_skip_client_steps_but_are_audited(probe_app: Litestar) -> None:
    from tests.builders import member_client

    member, _, _ = await member_client(probe_app)
    response = await member.get("/api/v1/tenant/")
    assert response.status_code == 200
    assert "ratelimit" not in response.headers
    records = await _records(probe_app, response.headers["x-request-id"])
    assert [r.action for r in records] == ["api.GetMyTenant"]


async def test_public_routes_carry_ip_rate_limit_headers(probe_app: Litestar) -> None:
    async with http_client(probe_app) as anonymous:
        response = await anonymous.get(BASE_URL + "/api/v1/catalogue")
    assert response.status_code == 200
    assert response.headers["ratelimit-policy"].startswith('"burst"')


async def test_each_failure_has_its_own_problem_type_and_reveals_nothing(
    probe_app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JR/T 0185 item 11: one problem type per failure; no key material, signature, digest or
    expected value in any answer, only what a legitimate partner needs to fix the call."""
    plans = dict(quota.RATE_PLANS)
    tight = RatePlan("sweep-burst", 1, 0.01, None, None)
    roomy = RatePlan("sweep-roomy", 1000, 1000.0, None, None)
    plans["sweep-burst"] = TenantPlan("sweep-burst", tight, roomy, roomy)
    daily = RatePlan("sweep-daily", 50, 50.0, 1, None)
    plans["sweep-daily"] = TenantPlan("sweep-daily", daily, roomy, roomy)
    monkeypatch.setattr(quota, "RATE_PLANS", plans)
    path = "/api/v1/security-probe/a1"
    answers: dict[str, tuple[httpx.Response, list[str]]] = {}

    caller = await signed_caller(probe_app)
    secrets_ = [caller.keys.hmac_secret]
    bad_token = await caller.http.get(
        path, headers={"authorization": "Bearer not.a.token", "signature": "sig1=:AAAA:"}
    )
    answers["invalid-token"] = (bad_token, secrets_)
    impostor = await signed_caller(probe_app)
    caller.keys.hmac_secret, real_secret = impostor.keys.hmac_secret, caller.keys.hmac_secret
    wrong_key = await caller.call("GET", path)
    caller.keys.hmac_secret = real_secret
    answers["signature-invalid"] = (
        wrong_key,
        [*secrets_, impostor.keys.hmac_secret, str(wrong_key.request.headers["signature"])],
    )
    stale = await caller.call("GET", path, created=utcnow() - timedelta(seconds=900))
    answers["signature-expired"] = (stale, secrets_)
    await caller.call("GET", path, nonce="sweep-once")
    replay = await caller.call("GET", path, nonce="sweep-once")
    answers["replay-detected"] = (replay, [*secrets_, "sweep-once"])
    fenced = await signed_caller(probe_app, ip_allowlist=["192.0.2.0/24"])
    outside = await fenced.call("GET", path)
    answers["ip-not-allowed"] = (outside, [fenced.keys.hmac_secret, "192.0.2.0/24"])
    burst = await signed_caller(probe_app, rate_plan="sweep-burst")
    await burst.call("GET", path)
    answers["rate-limited"] = (await burst.call("GET", path), [burst.keys.hmac_secret])
    quota_caller = await signed_caller(probe_app, rate_plan="sweep-daily")
    await quota_caller.call("GET", path)
    answers["quota-exhausted"] = (
        await quota_caller.call("GET", path),
        [quota_caller.keys.hmac_secret],
    )
    a2 = await signed_caller(probe_app)
    body = {"amount_fen": 100}
    tampered = await a2.call(
        "POST", "/api/v1/security-probe/a2", body, key="ec", tamper=b'{"amount_fen": 1}'
    )
    answers["signature-invalid (body)"] = (
        tampered,
        [content_digest(b'{"amount_fen": 1}'), content_digest(msgspec.json.encode(body))],
    )

    seen: dict[str, str] = {}
    for case, (response, forbidden) in answers.items():
        slug = case.split(" ")[0]
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json"), case
        assert _problem(response) == slug, (case, problem)
        assert response.status_code == problem["status"] == PROBLEM_TYPES[slug].status, case
        assert problem["title"] == PROBLEM_TYPES[slug].title, case
        seen.setdefault(slug, problem["title"])
        text = response.text
        for value in forbidden:
            assert value not in text, (case, value)
        assert "expected" not in text.lower(), case
        assert "traceback" not in text.lower(), case
    assert len(set(seen.values())) == len(seen)  # distinct types read as distinct failures
