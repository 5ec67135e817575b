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
from tests.security_builders import (
    BASE_URL,
    install_probe_routes,
    signed_caller,
)

from puhui.app import create_app
from puhui.audit.models import AuditRecord
from puhui.clock import utcnow
from puhui.config import Settings
from puhui.gateway.steps.controls import RESPONSE_SIGNING_PURPOSE
from puhui.gateway.steps.masking import REVEAL_SCOPE
from puhui.oauth.keys import KeyRing
from puhui.security.digest import verify_content_digest
from puhui.security.httpsig import HttpRequest, HttpResponse, SignatureKey, verify_response

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
