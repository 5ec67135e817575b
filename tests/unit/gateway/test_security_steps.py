"""Gateway security steps as plain functions: masking rules, refusal kinds, anomaly windows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from tests.conftest import freeze_clock

from puhui.clock import FrozenClock
from puhui.errors import ProblemError
from puhui.gateway.catalogue import ApiSpec
from puhui.gateway.steps.masking import REVEAL_SCOPE, mask_response, reveals
from puhui.gateway.steps.quota import RATE_PLANS, TenantPlan, admit, plan_named
from puhui.security.alerts import AnomalyMonitor, Threshold, alert_kind_for
from puhui.security.classification import FieldKind
from puhui.security.models import AlertKind
from puhui.security.ratelimit import MemoryRateLimiter, RatePlan
from puhui.tenancy.models import TenantKind
from puhui.tenancy.subject import AuthSubject

SPEC = ApiSpec(
    operation_id="GetCustomer",
    api_id="OPPHBANK0212001",
    level="A2",
    audience="client",
    fields={
        "customer.phone": ("C2", "phone"),
        "customer.id_number": ("C2", "id_number"),
        "pin": ("C3", "secret"),
    },
)
BODY = msgspec.json.encode(
    {"customer": {"phone": "13812345678", "id_number": "110101199001011234"}, "pin": "1234"}
)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with freeze_clock(datetime(2026, 5, 1, 2, tzinfo=UTC)) as frozen:
        yield frozen


def _client(*, scopes: frozenset[str] = frozenset(), consent: bool = False) -> AuthSubject:
    return AuthSubject(
        kind="client",
        tenant_id=uuid.uuid4(),
        tenant_kind=TenantKind.SCENARIO_PROVIDER,
        client_id="c1",
        scopes=scopes,
        consent_id=uuid.uuid4() if consent else None,
    )


class TestMasking:
    def test_client_without_grant_sees_masked_c2_and_never_c3(self) -> None:
        out = msgspec.json.decode(mask_response(SPEC, _client(), BODY))
        assert out == {
            "customer": {"phone": "138****5678", "id_number": "1101**********1234"},
            "pin": "******",
        }

    def test_scope_and_consent_reveal_c2_but_not_c3(self) -> None:
        subject = _client(scopes=frozenset({REVEAL_SCOPE}), consent=True)
        out = msgspec.json.decode(mask_response(SPEC, subject, BODY))
        assert out["customer"]["id_number"] == "110101199001011234"
        assert out["pin"] == "******"

    @pytest.mark.parametrize(
        "subject",
        [_client(scopes=frozenset({REVEAL_SCOPE})), _client(consent=True), None],
    )
    def test_scope_or_consent_alone_reveals_nothing(self, subject: AuthSubject | None) -> None:
        assert reveals(subject) == frozenset()

    def test_bank_staff_see_clear_values(self) -> None:
        staff = AuthSubject(
            kind="member",
            tenant_id=uuid.uuid4(),
            tenant_kind=TenantKind.BANK,
            member_id=uuid.uuid4(),
            roles=frozenset({"risk_officer"}),
        )
        out = msgspec.json.decode(mask_response(SPEC, staff, BODY))
        assert out["customer"]["phone"] == "13812345678"

    def test_non_json_and_undeclared_routes_pass_through(self) -> None:
        assert mask_response(SPEC, _client(), b"not json") == b"not json"
        bare = msgspec.structs.replace(SPEC, api_id="OPPHBANK0212002", fields={})
        assert mask_response(bare, _client(), BODY) is BODY


class TestQuota:
    @pytest.mark.anyio
    async def test_burst_refusal_is_rate_limited_with_headers(self, clock: FrozenClock) -> None:
        limiter = MemoryRateLimiter()
        plan = plan_named("sandbox")
        tenant = uuid.uuid4()
        for _ in range(plan.client.burst):
            await admit(limiter, SPEC, plan, tenant, "c1")
        with pytest.raises(ProblemError) as refused:
            await admit(limiter, SPEC, plan, tenant, "c1")
        assert refused.value.kind.slug == "rate-limited"
        assert int(refused.value.headers["Retry-After"]) >= 1
        assert refused.value.headers["RateLimit-Policy"] == plan.client.policy_header

    @pytest.mark.anyio
    async def test_quota_refusal_is_its_own_problem(self, clock: FrozenClock) -> None:
        tiny = RatePlan("tiny", 10, 10.0, daily_quota=1)
        plans = TenantPlan("tiny", client=tiny, tenant=tiny, per_api=tiny)
        limiter = MemoryRateLimiter()
        await admit(limiter, SPEC, plans, uuid.uuid4(), "c2")
        with pytest.raises(ProblemError) as refused:
            await admit(limiter, SPEC, plans, uuid.uuid4(), "c2")
        assert refused.value.kind.slug == "quota-exhausted"

    def test_unknown_plan_falls_back_to_the_smallest(self) -> None:
        assert plan_named("no-such-plan") is RATE_PLANS["sandbox"]


class TestAnomalyMonitor:
    def test_threshold_within_window_fires_once(self, clock: FrozenClock) -> None:
        monitor = AnomalyMonitor(
            db=None,  # type: ignore[arg-type]  # observe() never touches the database
            thresholds={AlertKind.REPLAY_ATTEMPTS: Threshold(3, 60)},
        )
        fired = [monitor.observe(AlertKind.REPLAY_ATTEMPTS, "c1") for _ in range(5)]
        assert fired == [None, None, 3, None, None]

    def test_events_outside_the_window_do_not_count(self, clock: FrozenClock) -> None:
        monitor = AnomalyMonitor(
            db=None,  # type: ignore[arg-type]
            thresholds={AlertKind.SIGNATURE_FAILURES: Threshold(3, 60)},
        )
        for _ in range(2):
            assert monitor.observe(AlertKind.SIGNATURE_FAILURES, "c1") is None
            clock.advance(timedelta(seconds=45))
        assert monitor.observe(AlertKind.SIGNATURE_FAILURES, "c1") is None
        assert monitor.observe(AlertKind.SIGNATURE_FAILURES, "c2") is None

    @pytest.mark.parametrize(
        ("slug", "status", "kind"),
        [
            ("signature-invalid", 401, AlertKind.SIGNATURE_FAILURES),
            ("signature-expired", 401, AlertKind.SIGNATURE_FAILURES),
            ("replay-detected", 401, AlertKind.REPLAY_ATTEMPTS),
            ("quota-exhausted", 429, AlertKind.QUOTA_EXHAUSTION),
            ("invalid-token", 401, AlertKind.AUTHENTICATION_FAILURES),
            ("forbidden", 403, None),
        ],
    )
    def test_refusals_count_toward_their_anomaly(
        self, slug: str, status: int, kind: AlertKind | None
    ) -> None:
        assert alert_kind_for(slug, status) is kind


def test_partner_members_see_staff_contacts_but_not_customer_identifiers() -> None:
    member = AuthSubject(
        kind="member",
        tenant_id=uuid.uuid4(),
        tenant_kind=TenantKind.SCENARIO_PROVIDER,
        member_id=uuid.uuid4(),
        roles=frozenset({"owner"}),
    )
    out = msgspec.json.decode(mask_response(SPEC, member, BODY))
    assert out["customer"]["phone"] == "138****5678"
    assert FieldKind.EMAIL in reveals(member)
