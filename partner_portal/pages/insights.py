"""Observability for partners: searchable request logs from the audit trail, traffic analytics
with inline-SVG charts, quota use, errors by endpoint, consent statistics, and the page-view
beacon that embedded surfaces report to (JR/T 0269 3.7 traffic)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.params import QueryParameter

from partner_portal.charts import bar_chart
from partner_portal.declare import ANY_PARTNER, portal_page
from partner_portal.forms import first, read_form
from partner_portal.i18n import translate
from partner_portal.rendering import locale_of, page
from puhui.deps import Db, Subject
from puhui.errors import FieldError, InvalidRequest
from puhui.onboarding.insights import PartnerInsights, record_page_view

__all__ = ["InsightPages"]

_Text = Annotated[str | None, QueryParameter(required=False, max_length=128)]


class InsightPages(Controller):
    path = "/portal"

    @get("/logs", **portal_page("RequestLogPage", "Request logs", 43, roles=ANY_PARTNER))
    async def logs(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        q: _Text = None,
        api: _Text = None,
        request_id: _Text = None,
        idempotency_key: Annotated[
            str | None, QueryParameter(required=False, max_length=255)
        ] = None,
        client_id: _Text = None,
        status_text: Annotated[
            str | None, QueryParameter(name="status", required=False, max_length=1)
        ] = None,
        page_no: Annotated[int, QueryParameter(name="page", ge=1, le=1000)] = 1,
    ) -> Response[Any]:
        # The search form sends every field, an unchosen status as "": read it as text.
        status = int(status_text) if status_text and status_text.isdigit() else None
        if status_text and status is None:
            raise InvalidRequest(errors=[FieldError("status", "2, 3, 4 or 5", "query")])
        filters = {
            "q": q or "",
            "api": api or "",
            "request_id": request_id or "",
            "idempotency_key": idempotency_key or "",
            "client_id": client_id or "",
        }
        log = await PartnerInsights(db, subject).request_log(
            text=q,
            api=api,
            request_id=request_id,
            idempotency_key=idempotency_key,
            client_id=client_id,
            status_class=status,
            page=page_no,
        )
        return page(
            request,
            "insights/logs.html",
            log=log,
            filters=filters,
            query=urlencode({k: v for k, v in filters.items() if v} | {"status": status or ""}),
            status=status,
            page_no=page_no,
        )

    @get("/traffic", **portal_page("TrafficPage", "Traffic analytics", 44, roles=ANY_PARTNER))
    async def traffic(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        insights = PartnerInsights(db, subject)
        summary = await insights.traffic()
        locale = locale_of(request)
        labels = [d.day.strftime("%m-%d") for d in summary.days]
        charts = {
            "calls": bar_chart(
                translate("traffic.calls_chart", locale),
                list(zip(labels, [d.calls for d in summary.days], strict=True)),
            ),
            "errors": bar_chart(
                translate("traffic.errors_chart", locale),
                list(zip(labels, [d.errors for d in summary.days], strict=True)),
                css_class="bar bad",
            ),
            "views": bar_chart(
                translate("traffic.views_chart", locale),
                list(zip(labels, [d.page_views for d in summary.days], strict=True)),
                css_class="bar alt",
            ),
        }
        return page(
            request,
            "insights/traffic.html",
            summary=summary,
            charts=charts,
            quota=await insights.quota(),
            consents=await insights.consent_statistics(),
        )

    @post(
        "/beacon",
        status_code=204,
        **portal_page(
            "PageViewBeacon", "Report a page view of an embedded surface", 45, audience="public"
        ),
    )
    async def beacon(self, request: Request[Any, Any, Any], db: Db) -> Response[None]:
        form = await read_form(request)
        visitor = first(form, "visitor", 64) or None
        await record_page_view(
            db, first(form, "client_id", 64), first(form, "surface", 64), visitor
        )
        return Response(None, status_code=204)
