"""Builders for lending: products for a channel, stored scenario features, a consented caller."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Generator, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import delete

from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentStatus
from puhui.lending.products import ProductSpec
from puhui.lending.seed import ensure_baseline_ruleset, ensure_model, ensure_products
from puhui.lending.seed import sandbox_products as _sandbox_products
from puhui.scenario.models import FeatureRow, ScenarioRecord
from puhui.security.httpsig import SignatureKey
from puhui.tenancy.models import Tenant, TenantKind
from tests.builders import create_member, create_tenant, login
from tests.conftest import http_client
from tests.security_builders import access_token, create_client, signed_headers

_MODEL_DIR = Path(mkdtemp(prefix="puhui-lending-model-"))
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENDING_SCOPES = ("applications", "offers")

# A healthy small business as the connectors describe it (connector feature names and units).
HEALTHY: Mapping[str, int | Decimal | str | None] = {
    "tax.revenue_trend_12m": Decimal("0.12"),
    "tax.revenue_volatility_12m": Decimal("0.15"),
    "tax.declared_revenue_12m_fen": 6_000_000_00,
    "tax.credit_grade": "A",
    "tax.arrears_outstanding_fen": 0,
    "tax.arrears_count_24m": 0,
    "payroll.headcount_change_12m": Decimal("0.05"),
    "payroll.gross_pay_12m_fen": 600_000_00,
    "utilities.arrears_count": 0,
    "utilities.electricity_stability_12m": Decimal("0.92"),
    "procurement.award_value_12m_fen": 80_000_000,
    "procurement.payer_concentration_12m": Decimal("0.30"),
}
# A struggling one: falling revenue, a poor tax grade, arrears everywhere.
WEAK: Mapping[str, int | Decimal | str | None] = {
    **HEALTHY,
    "tax.revenue_trend_12m": Decimal("-0.45"),
    "tax.revenue_volatility_12m": Decimal("0.90"),
    "tax.credit_grade": "D",
    "payroll.headcount_change_12m": Decimal("-0.40"),
    "utilities.arrears_count": 6,
    "utilities.electricity_stability_12m": Decimal("0.20"),
    "procurement.payer_concentration_12m": Decimal("0.95"),
}


def new_uscc() -> str:
    tail = "".join(secrets.choice(_USCC_CHARS) for _ in range(10))
    return f"91{secrets.randbelow(10**6):06d}{tail}"


def product_prefix() -> str:
    return "T" + secrets.token_hex(3).upper() + "-"


async def lending_ready(app: Litestar) -> None:
    """The baseline rule set and the sandbox scorecard (trained once per test process)."""
    async with app.state.db.unit_of_work() as session:
        await ensure_baseline_ruleset(session)
        await ensure_model(session, _MODEL_DIR, rows=4_000)


async def create_products(
    app: Litestar, channels: Iterable[str], prefix: str | None = None
) -> tuple[ProductSpec, ...]:
    """The three sandbox products under fresh codes, offered through `channels`."""
    specs = _sandbox_products(tuple(channels), prefix=prefix or product_prefix())
    async with app.state.db.unit_of_work() as session:
        await ensure_products(session, specs)
    return specs


async def store_features(
    app: Litestar,
    uscc: str,
    values: Mapping[str, int | Decimal | str | None],
    *,
    data_as_of: datetime | None = None,
) -> None:
    """Put features in the scenario store as the connectors would have computed them.

    Features the enterprise already has under the same names are replaced (a new computation).
    """
    fetched = data_as_of or utcnow() - timedelta(days=2)
    async with app.state.db.unit_of_work() as session:
        await session.execute(
            delete(FeatureRow).where(FeatureRow.uscc == uscc, FeatureRow.name.in_(list(values)))
        )
        for name, value in values.items():
            kind, text = (
                ("none", None)
                if value is None
                else ("int", str(value))
                if isinstance(value, int)
                else ("decimal", str(value))
                if isinstance(value, Decimal)
                else ("code", value)
            )
            session.add(
                FeatureRow(
                    uscc=uscc,
                    data_source=name.split(".", 1)[0],
                    name=name,
                    version=1,
                    value_kind=kind,
                    value_text=text,
                    as_of=date.today(),
                    computed_at=utcnow(),
                    reason=None,
                    data_as_of=fetched,
                    source_records=[],
                )
            )


class SignedTokenAuth(httpx.Auth):
    """Presents the token and signs every request (RFC 9421 + Content-Digest) like an SDK."""

    requires_request_body = True

    def __init__(self, token: str, key: SignatureKey) -> None:
        self.token = token
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = request.url.raw_path.decode("ascii")
        headers = signed_headers(self.key, request.method, path, request.content, token=self.token)
        request.headers.update(headers)
        yield request


async def consented_caller(
    app: Litestar, tenant: Tenant, uscc: str, scopes: Iterable[str] = LENDING_SCOPES
) -> httpx.AsyncClient:
    """A partner client acting under an authorised consent of the enterprise `uscc`.

    The token carries the consent as the authorization-code grant would mint it; the pipeline
    checks the consent's current state on every call, and the caller signs every request.
    """
    _, client, keys = await create_client(app, tenant)
    now = utcnow()
    async with app.state.db.unit_of_work(tenant.id) as session:
        consent = Consent(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            client_id=client.client_id,
            enterprise_uscc=uscc,
            status=ConsentStatus.AUTHORISED,
            purposes=["credit_assessment"],
            data_items=[],
            validity_days=90,
            uses_per_day=100,
            authorise_by=now + timedelta(hours=1),
            granted_at=now,
            valid_until=now + timedelta(days=90),
        )
        session.add(consent)
    token = access_token(app, tenant, client, scopes=scopes, consent_id=consent.id)
    http = http_client(app)
    # A2 operations need an asymmetric signature key (no HMAC)
    http.auth = SignedTokenAuth(token, keys.key(client.client_id, "ec"))
    return http


async def lending_partner(app: Litestar) -> tuple[Tenant, tuple[ProductSpec, ...]]:
    """A new partner tenant with the sandbox products offered through it."""
    await lending_ready(app)
    tenant = await create_tenant(app)
    return tenant, await create_products(app, [tenant.code])


def application_body(uscc: str, product: ProductSpec, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "uscc": uscc,
        "enterprise_name": "深圳市小微科技有限公司",
        "legal_rep_name": "张三",
        "purpose": "working_capital",
        "amount_fen": 200_000_00,
        "term_months": 12,
        "repayment_method": product.repayment_methods[0].value,
        "product_code": product.code,
        "contact_name": "张三",
        "contact_phone": f"139{secrets.randbelow(10**8):08d}",
    }
    body.update(overrides)
    return body


async def risk_officer(app: Litestar) -> httpx.AsyncClient:
    """A signed-in bank staff member with the risk_officer role."""
    bank = await create_tenant(app, kind=TenantKind.BANK)
    member = await create_member(app, bank, ["risk_officer"])
    http = http_client(app)
    await login(http, member)
    return http


async def apply_and_submit(
    partner: httpx.AsyncClient, body: Mapping[str, object]
) -> dict[str, object]:
    """Create an application (fresh Idempotency-Key) and submit it; the submitted application."""
    created = await partner.post(
        "/api/v1/applications", json=dict(body), headers={"Idempotency-Key": f"k-{uuid.uuid4()}"}
    )
    assert created.status_code == 201, created.text
    submitted = await partner.post(f"/api/v1/applications/{created.json()['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    result: dict[str, object] = submitted.json()
    return result


async def decision_record(officer: httpx.AsyncClient, decision_id: object) -> dict[str, Any]:
    """The stored decision as the operator API shows it (record, record_hash, ...)."""
    response = await officer.get(f"/api/v1/operator/decisions/{decision_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def store_record(
    app: Litestar,
    uscc: str,
    data_type: str,
    key: str,
    data: Mapping[str, object],
    *,
    fetched_at: datetime | None = None,
) -> None:
    """Put one canonical record in the scenario store, unsealed, as a connector sync would."""
    source = data_type.split(".", 1)[0]
    fetched = fetched_at or utcnow() - timedelta(days=1)
    async with app.state.db.unit_of_work() as session:
        session.add(
            ScenarioRecord(
                natural_key=f"{data_type}|{uscc}|{key}",
                uscc=uscc,
                data_source=source,
                data_type=data_type,
                record_key=key,
                content_hash=secrets.token_hex(32),
                data=dict(data),
                data_enc=None,
                collection_channel="pull",
                collection_object=uscc,
                consent_id="test-consent",
                fetched_at=fetched,
                snapshot_taken_at=None,
                schema_version=1,
                connector_version="test",
                origin="external",
                access="authorised",
                volatility="static",
                shape="cross_section",
                collected_by_tenant_id=None,
                retain_until=fetched + timedelta(days=365),
            )
        )
