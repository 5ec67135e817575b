"""What a partner sees about its own traffic: request logs, daily calls and errors, unique
customers, embedded-surface page views (JR/T 0269 3.7 traffic), quota use and consent counts."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit.models import AuditRecord
from puhui.clock import utcnow
from puhui.db.session import allow_cross_tenant_write, tenant_bypass
from puhui.errors import FieldError, InvalidRequest, NotFound
from puhui.gateway.steps.quota import plan_named
from puhui.oauth.repository import ClientRepository
from puhui.onboarding.models import PageView
from puhui.onboarding.repository import (
    CallSearch,
    ConsentStatsRepository,
    PageViewRepository,
    PartnerCallRepository,
    PartnerDirectoryRepository,
)
from puhui.tenancy.subject import AuthSubject

__all__ = [
    "DailyPoint",
    "EndpointErrors",
    "PartnerInsights",
    "QuotaUse",
    "RequestLog",
    "TrafficSummary",
    "record_page_view",
]

_SURFACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class DailyPoint:
    day: date
    calls: int
    errors: int
    page_views: int


@dataclass(frozen=True)
class EndpointErrors:
    api_id: str
    calls: int
    client_errors: int
    server_errors: int

    @property
    def error_rate(self) -> float:
        return (self.client_errors + self.server_errors) / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class QuotaUse:
    plan: str
    today: int
    daily_quota: int | None
    month: int
    monthly_quota: int | None


@dataclass(frozen=True)
class TrafficSummary:
    days: list[DailyPoint]
    calls: int
    unique_customers: int
    page_views: int
    surfaces: dict[str, int]
    endpoints: list[EndpointErrors]


async def record_page_view(
    session: AsyncSession, client_id: str, surface: str, visitor: str | None
) -> None:
    """The beacon: one view of an embedded surface, attributed to the client's tenant."""
    surface = surface.strip().lower()
    if not 1 <= len(surface) <= 64 or not set(surface) <= _SURFACE_CHARS:
        raise InvalidRequest(errors=[FieldError("surface", "1-64 of a-z 0-9 - _ .")])
    if visitor is not None and len(visitor) > 64:
        raise InvalidRequest(errors=[FieldError("visitor", "at most 64 characters")])
    with tenant_bypass(session, reason="traffic.beacon_client_lookup"):
        client = await ClientRepository(session).by_client_id(client_id[:64])
    if client is None:
        raise NotFound("Unknown client.")
    view = PageView(
        tenant_id=client.tenant_id,
        viewed_at=utcnow(),
        client_id=client.client_id,
        surface=surface,
        visitor=visitor,
    )
    allow_cross_tenant_write(view, reason="traffic.page_view")
    session.add(view)


def _clean(value: str | None, limit: int) -> str | None:
    return (value or "").strip()[:limit] or None


@dataclass(frozen=True)
class RequestLog:
    rows: Sequence[AuditRecord]
    idempotency_keys: dict[uuid.UUID, str]  # audit record id -> the key that call used

    def key_of(self, record: AuditRecord) -> str | None:
        return self.idempotency_keys.get(record.id)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=utcnow().tzinfo)


class PartnerInsights:
    """Read-only views over the caller's own tenant."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.calls = PartnerCallRepository(session, subject.tenant_id)

    async def request_log(
        self,
        *,
        text: str | None = None,
        api: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        client_id: str | None = None,
        status_class: int | None = None,
        page: int = 1,
    ) -> RequestLog:
        """The partner's own API calls, newest first, 50 a page; every criterion must hold."""
        if status_class is not None and status_class not in {2, 3, 4, 5}:
            raise InvalidRequest(errors=[FieldError("status", "2, 3, 4 or 5", "query")])
        keys: dict[uuid.UUID, str] = {}
        record_ids: frozenset[uuid.UUID] | None = None
        if idempotency_key := _clean(idempotency_key, 255):
            keys = await self.calls.calls_with_key(idempotency_key)
            record_ids = frozenset(keys)
        rows = await self.calls.search(
            CallSearch(
                text=_clean(text, 100),
                api=_clean(api, 64),
                request_id=_clean(request_id, 128),
                client_id=_clean(client_id, 64),
                status_class=status_class,
                record_ids=record_ids,
            ),
            limit=50,
            offset=max(0, page - 1) * 50,
        )
        return RequestLog(rows=rows, idempotency_keys=keys)

    async def traffic(self, days: int = 14) -> TrafficSummary:
        today = utcnow().date()
        first = today - timedelta(days=days - 1)
        start = _day_start(first)
        rows = await self.calls.since(start)
        views = await PageViewRepository(self.session).since(start)
        calls_by_day: Counter[date] = Counter()
        errors_by_day: Counter[date] = Counter()
        views_by_day: Counter[date] = Counter(v.viewed_at.date() for v in views)
        per_api: dict[str, list[int]] = {}
        consent_ids: set[uuid.UUID] = set()
        for row in rows:
            day = row.occurred_at.date()
            calls_by_day[day] += 1
            status = row.status_code or 0
            if status >= 400:
                errors_by_day[day] += 1
            stats = per_api.setdefault(row.api_id or "-", [0, 0, 0])
            stats[0] += 1
            stats[1] += 400 <= status < 500
            stats[2] += status >= 500
            if row.consent_id is not None:
                consent_ids.add(row.consent_id)
        series = [
            DailyPoint(d, calls_by_day[d], errors_by_day[d], views_by_day[d])
            for d in (first + timedelta(days=i) for i in range(days))
        ]
        endpoints = sorted(
            (EndpointErrors(api, s[0], s[1], s[2]) for api, s in per_api.items()),
            key=lambda e: (-(e.client_errors + e.server_errors), -e.calls, e.api_id),
        )
        return TrafficSummary(
            days=series,
            calls=len(rows),
            unique_customers=await ConsentStatsRepository(self.session).customers_of(
                sorted(consent_ids)
            ),
            page_views=len(views),
            surfaces=dict(Counter(v.surface for v in views).most_common(10)),
            endpoints=endpoints[:20],
        )

    async def quota(self) -> QuotaUse:
        tenant = await PartnerDirectoryRepository(self.session).get(self.subject.tenant_id)
        plan = plan_named(tenant.plan)
        now = utcnow()
        today = await self.calls.count_since(_day_start(now.date()))
        month = await self.calls.count_since(_day_start(now.date().replace(day=1)))
        return QuotaUse(
            plan=plan.name,
            today=today,
            daily_quota=plan.tenant.daily_quota,
            month=month,
            monthly_quota=plan.tenant.monthly_quota,
        )

    async def consent_statistics(self) -> dict[str, int]:
        return await ConsentStatsRepository(self.session).by_status()
