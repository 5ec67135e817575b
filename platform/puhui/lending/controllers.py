"""HTTP for embedded lending: the public catalogue and product pages, offers, applications."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Template
from partner_portal.i18n import MESSAGES
from partner_portal.rendering import page

from puhui.clock import utcnow
from puhui.deps import Db, Subject
from puhui.errors import NotFound
from puhui.gateway.catalogue import FieldClass, declare
from puhui.lending.applications import ApplicationDraft, ApplicationService
from puhui.lending.idempotency import IdempotencyGuard, StoredResponse, body_hash, require_key
from puhui.lending.matching import Need, match_products
from puhui.lending.models import Application, LoanProduct, Offer, OfferStatus
from puhui.lending.offers import OfferService
from puhui.lending.products import ProductSpec, representative_cost
from puhui.lending.schemas import (
    ApplicationCreate,
    ApplicationRead,
    ApplicationWithdraw,
    CostExampleRead,
    CustomerReasonRead,
    DecisionSummary,
    LeadRead,
    MatchRead,
    MatchRequest,
    OfferRead,
    OfferRequest,
    ProductRead,
)
from puhui.lending.service import FeatureLookup, ProductCatalogue, scenario_features
from puhui.money import format_yuan
from puhui.risk.controllers import OperatorRiskController
from puhui.risk.service import IdentityEvidence

__all__ = [
    "ApplicationController",
    "OfferController",
    "ProductController",
    "ProductPageController",
    "lending_router",
]

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name="Idempotency-Key", description="Required; 8-255 of [A-Za-z0-9._:-]"),
]
_APPLICATION_FIELDS: Mapping[str, tuple[FieldClass, str]] = {"contact_phone": ("C2", "phone")}
FEATURES_STATE_KEY = "lending_features"

MESSAGES.update(
    {
        "product.apr": {
            "zh": "年化利率(APR,内部收益率法)",
            "en": "Annualised rate (APR, IRR method)",
        },
        "product.apr_note": {
            "zh": "按中国人民银行公告〔2021〕第3号以内部收益率法计算,含全部利息和费用。",
            "en": "Computed by the IRR method per PBoC Announcement [2021] No. 3, "
            "including all interest and fees.",
        },
        "product.example": {"zh": "代表性示例", "en": "Representative example"},
        "product.amount": {"zh": "额度范围(元)", "en": "Amount (yuan)"},
        "product.terms": {"zh": "期限(月)", "en": "Terms (months)"},
        "product.methods": {"zh": "还款方式", "en": "Repayment methods"},
        "product.issuer": {"zh": "发行机构", "en": "Issuer"},
        "product.customers": {"zh": "适用客户", "en": "Suitable customers"},
        "product.hours": {"zh": "服务时间", "en": "Service hours"},
        "product.total_cost": {"zh": "总借款成本(元)", "en": "Total cost of credit (yuan)"},
        "product.received": {"zh": "实际到手(元)", "en": "Amount received (yuan)"},
        "product.daily_rate": {"zh": "日利率(参考)", "en": "Daily rate (for reference)"},
        "product.number": {"zh": "产品编号", "en": "Product number"},
    }
)


def _example(spec: ProductSpec) -> CostExampleRead:
    example = representative_cost(spec, utcnow().date())
    return msgspec.convert(msgspec.to_builtins(example), CostExampleRead, strict=False)


def product_read(row: LoanProduct, spec: ProductSpec) -> ProductRead:
    return ProductRead(
        code=spec.code,
        version=row.version,
        name_zh=spec.name_zh,
        name_en=spec.name_en,
        issuer=spec.issuer,
        suitable_customers_zh=spec.suitable_customers_zh,
        suitable_customers_en=spec.suitable_customers_en,
        currency=spec.currency,
        scenario=spec.scenario.value,
        channels=list(spec.channels),
        service_hours=(
            f"{spec.service_hours.days} {spec.service_hours.opens}-{spec.service_hours.closes}"
        ),
        effective_from=spec.effective_from,
        min_amount_fen=spec.min_amount_fen,
        max_amount_fen=spec.max_amount_fen,
        term_options_months=list(spec.term_options_months),
        repayment_methods=list(spec.repayment_methods),
        min_annual_rate=spec.min_annual_rate,
        max_annual_rate=spec.max_annual_rate,
        upfront_fee_bps=spec.fees.upfront_fee_bps,
        instalment_fee_fen=spec.fees.instalment_fee_fen,
        required_sources=list(spec.required_sources),
        representative_example=_example(spec),
    )


def offer_read(offer: Offer) -> OfferRead:
    return OfferRead(
        id=offer.id,
        uscc=offer.uscc,
        product_code=offer.product_code,
        product_version=offer.product_version,
        status=offer.status,
        min_amount_fen=offer.min_amount_fen,
        max_amount_fen=offer.max_amount_fen,
        term_options_months=list(offer.term_options),
        apr_percent=Decimal(offer.apr_percent),
        annual_interest_rate=Decimal(offer.annual_rate),
        cost_example=msgspec.convert(offer.cost_example, CostExampleRead, strict=False),
        expires_at=offer.expires_at,
        version=offer.version,
    )


def application_read(a: Application) -> ApplicationRead:
    return ApplicationRead(
        id=a.id,
        status=a.status,
        status_reason=a.status_reason,
        uscc=a.uscc,
        enterprise_name=a.enterprise_name,
        legal_rep_name=a.legal_rep_name,
        purpose=a.purpose,
        amount_fen=a.amount_fen,
        term_months=a.term_months,
        repayment_method=a.repayment_method,
        product_code=a.product_code,
        product_version=a.product_version,
        offer_id=a.offer_id,
        contact_name=a.contact_name,
        contact_phone=a.contact_phone,
        missing_sources=list(a.missing_sources),
        decision_id=a.decision_id,
        approved_amount_fen=a.approved_amount_fen,
        annual_rate=None if a.annual_rate is None else Decimal(a.annual_rate),
        created_at=a.created_at,
        expires_at=a.expires_at,
        version=a.version,
    )


def feature_lookup(request: Request[Any, Any, Any]) -> FeatureLookup:
    """The scenario store, unless the deployment installed another source on app.state."""
    found: FeatureLookup | None = request.app.state.get(FEATURES_STATE_KEY)
    return found or scenario_features


def _client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class ProductController(Controller):
    path = "/api/v1/products"

    @get(
        "/",
        **declare(
            operation_id="ListProducts",
            summary="Loan products in force, with their representative APR",
            tag="Lending",
            level="A1",
            service="06",
            sequence=1,
            audience="public",
        ),
    )
    async def list_products(self, db: Db) -> list[ProductRead]:
        return [product_read(r, s) for r, s in await ProductCatalogue(db).in_force()]

    @get(
        "/{code:str}",
        **declare(
            operation_id="GetProduct",
            summary="One loan product (GB/T 32319 description)",
            tag="Lending",
            level="A1",
            service="06",
            sequence=2,
            audience="public",
            errors=(404,),
        ),
    )
    async def get_product(self, db: Db, code: FromPath[str]) -> ProductRead:
        for row, spec in await ProductCatalogue(db).in_force():
            if row.code == code:
                return product_read(row, spec)
        await ProductCatalogue(db).current(code)  # raises the 404
        raise AssertionError("unreachable")

    @post(
        "/match",
        status_code=200,
        **declare(
            operation_id="MatchProducts",
            summary="Products that best fit a stated need (JR/T 0269 8.4.2 b)",
            tag="Lending",
            level="A1",
            service="06",
            sequence=3,
            audience="public",
        ),
    )
    async def match(self, db: Db, data: JSONBody[MatchRequest]) -> list[MatchRead]:
        need = Need(
            amount_fen=data.amount_fen,
            term_months=data.term_months,
            repayment_method=data.repayment_method,
            scenario=data.scenario,
        )
        specs = [spec for _, spec in await ProductCatalogue(db).in_force()]
        return [
            MatchRead(code=m.code, version=m.version, fit=m.fit, reasons=list(m.reasons))
            for m in match_products(specs, need)
        ]


class ProductPageController(Controller):
    path = "/products"

    @get(
        "/{code:str}",
        **declare(
            operation_id="ProductPage",
            summary="Public product page: the APR (IRR method) first",
            tag="Lending",
            level="A1",
            service="06",
            sequence=4,
            audience="public",
            errors=(404,),
        ),
    )
    async def product_page(
        self, request: Request[Any, Any, Any], db: Db, code: FromPath[str]
    ) -> Template:
        spec = await ProductCatalogue(db).current(code)
        example = representative_cost(spec, utcnow().date())
        return page(
            request,
            "products/detail.html",
            spec=spec,
            example=example,
            yuan=format_yuan,
        )


class OfferController(Controller):
    path = "/api/v1/offers"

    @post(
        "/",
        **declare(
            operation_id="RequestOffers",
            summary="Pre-qualified offers for the consented customer's enterprise",
            tag="Lending",
            level="A2",
            service="06",
            sequence=5,
            audience="client",
            scopes=("offers",),
            errors=(409,),
        ),
    )
    async def request_offers(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        data: JSONBody[OfferRequest],
    ) -> list[OfferRead]:
        offers = await OfferService(db, subject).prequalify(data.uscc, feature_lookup(request))
        return [offer_read(o) for o in offers]

    @get(
        "/{offer_id:uuid}",
        **declare(
            operation_id="GetOffer",
            summary="One offer and its status",
            tag="Lending",
            level="A2",
            service="06",
            sequence=6,
            audience="client",
            scopes=("offers",),
            resource="offer",
        ),
    )
    async def get_offer(self, db: Db, subject: Subject, offer_id: FromPath[uuid.UUID]) -> OfferRead:
        return offer_read(await OfferService(db, subject).get(offer_id))

    async def _change(
        self, db: Db, subject: Subject, offer_id: uuid.UUID, to: OfferStatus
    ) -> OfferRead:
        return offer_read(await OfferService(db, subject).change(offer_id, to))

    @post(
        "/{offer_id:uuid}/ack",
        status_code=200,
        **declare(
            operation_id="AcknowledgeOffer",
            summary="The partner confirms the offer was shown to the customer (delivered)",
            tag="Lending",
            level="A2",
            service="06",
            sequence=7,
            audience="client",
            scopes=("offers",),
            resource="offer",
            errors=(409,),
        ),
    )
    async def acknowledge(
        self, db: Db, subject: Subject, offer_id: FromPath[uuid.UUID]
    ) -> OfferRead:
        return await self._change(db, subject, offer_id, OfferStatus.DELIVERED)

    @post(
        "/{offer_id:uuid}/accept",
        status_code=200,
        **declare(
            operation_id="AcceptOffer",
            summary="The customer accepts a delivered offer",
            tag="Lending",
            level="A2",
            service="06",
            sequence=8,
            audience="client",
            scopes=("offers",),
            resource="offer",
            errors=(409,),
        ),
    )
    async def accept(self, db: Db, subject: Subject, offer_id: FromPath[uuid.UUID]) -> OfferRead:
        return await self._change(db, subject, offer_id, OfferStatus.ACCEPTED)

    @post(
        "/{offer_id:uuid}/reject",
        status_code=200,
        **declare(
            operation_id="RejectOffer",
            summary="The customer turns a delivered offer down",
            tag="Lending",
            level="A2",
            service="06",
            sequence=9,
            audience="client",
            scopes=("offers",),
            resource="offer",
            errors=(409,),
        ),
    )
    async def reject(self, db: Db, subject: Subject, offer_id: FromPath[uuid.UUID]) -> OfferRead:
        return await self._change(db, subject, offer_id, OfferStatus.REJECTED)


def _draft(data: ApplicationCreate) -> ApplicationDraft:
    return ApplicationDraft(
        uscc=data.uscc,
        enterprise_name=data.enterprise_name,
        legal_rep_name=data.legal_rep_name,
        purpose=data.purpose,
        amount_fen=data.amount_fen,
        term_months=data.term_months,
        repayment_method=data.repayment_method,
        product_code=data.product_code,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        offer_id=data.offer_id,
        device_id=data.device_id,
        customer_ip=data.customer_ip,
        business_address=data.business_address,
        bank_account=data.bank_account,
    )


class ApplicationController(Controller):
    path = "/api/v1/applications"

    @post(
        "/",
        **declare(
            operation_id="CreateApplication",
            summary="Apply for a loan (JR/T 0269 8.4.2 a); Idempotency-Key required",
            tag="Lending",
            level="A2",
            service="07",
            sequence=1,
            audience="client",
            scopes=("applications",),
            fields=_APPLICATION_FIELDS,
            errors=(404, 409),
        ),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        data: JSONBody[ApplicationCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ApplicationRead]:
        key = require_key(idempotency_key)
        digest = body_hash(data)
        guard = IdempotencyGuard(db, subject, "CreateApplication")
        service = ApplicationService(db, subject)
        prior = await guard.replay(key, digest)
        if prior is not None:
            # The phone is C2: not kept in the key store, read back from the sealed column.
            stored = await service.get(uuid.UUID(str(prior.body["id"])))
            body = prior.body | {"contact_phone": stored.contact_phone}
            return Response(
                msgspec.convert(body, ApplicationRead, strict=False), status_code=prior.status_code
            )
        read = application_read(await service.create(_draft(data)))
        kept = msgspec.to_builtins(read)
        kept.pop("contact_phone", None)
        await guard.remember(key, digest, StoredResponse(201, kept))
        return Response(read, status_code=201)

    @get(
        "/",
        **declare(
            operation_id="ListApplications",
            summary="The partner's applications",
            tag="Lending",
            level="A2",
            service="07",
            sequence=2,
            audience="client",
            scopes=("applications",),
            fields={"[].contact_phone": ("C2", "phone")},
        ),
    )
    async def list_applications(
        self, db: Db, subject: Subject, limit: Limit = 50, offset: Offset = 0
    ) -> list[ApplicationRead]:
        rows = await ApplicationService(db, subject).page(limit, offset)
        return [application_read(a) for a in rows]

    @get(
        "/{application_id:uuid}",
        **declare(
            operation_id="GetApplication",
            summary="One application and its status",
            tag="Lending",
            level="A2",
            service="07",
            sequence=3,
            audience="client",
            scopes=("applications",),
            resource="application",
            fields=_APPLICATION_FIELDS,
        ),
    )
    async def get_application(
        self, db: Db, subject: Subject, application_id: FromPath[uuid.UUID]
    ) -> ApplicationRead:
        return application_read(await ApplicationService(db, subject).get(application_id))

    @post(
        "/{application_id:uuid}/submit",
        status_code=200,
        **declare(
            operation_id="SubmitApplication",
            summary="Gate on required data, then decide",
            tag="Lending",
            level="A2",
            service="07",
            sequence=4,
            audience="client",
            scopes=("applications",),
            resource="application",
            fields=_APPLICATION_FIELDS,
            errors=(409,),
        ),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        application_id: FromPath[uuid.UUID],
    ) -> ApplicationRead:
        application = await ApplicationService(db, subject).submit(
            application_id, feature_lookup(request), IdentityEvidence()
        )
        return application_read(application)

    @post(
        "/{application_id:uuid}/withdraw",
        status_code=200,
        **declare(
            operation_id="WithdrawApplication",
            summary="Withdraw an application that is still open",
            tag="Lending",
            level="A2",
            service="07",
            sequence=5,
            audience="client",
            scopes=("applications",),
            resource="application",
            fields=_APPLICATION_FIELDS,
            errors=(409,),
        ),
    )
    async def withdraw(
        self,
        db: Db,
        subject: Subject,
        application_id: FromPath[uuid.UUID],
        data: JSONBody[ApplicationWithdraw],
    ) -> ApplicationRead:
        application = await ApplicationService(db, subject).withdraw(application_id, data.reason)
        return application_read(application)

    @get(
        "/{application_id:uuid}/decision",
        **declare(
            operation_id="GetApplicationDecision",
            summary="The decision in plain words: outcome, limit, price, reasons",
            tag="Lending",
            level="A2",
            service="07",
            sequence=6,
            audience="client",
            scopes=("applications",),
            resource="application",
        ),
    )
    async def decision(
        self, db: Db, subject: Subject, application_id: FromPath[uuid.UUID]
    ) -> DecisionSummary:
        service = ApplicationService(db, subject)
        record = await service.decision_of(application_id)
        application = await service.get(application_id)
        if record is None or application.decision_id is None:
            raise NotFound("This application has not been decided yet.")
        return DecisionSummary(
            decision_id=application.decision_id,
            route=record.route.value,
            grade=record.score.grade,
            limit_fen=record.limit_fen,
            annual_rate=record.annual_rate,
            decided_at=record.decided_at,
            reasons=[
                CustomerReasonRead(code=r.code, zh=r.zh, en=r.en) for r in record.customer_reasons
            ],
        )

    @get(
        "/{application_id:uuid}/leads",
        **declare(
            operation_id="ListApplicationLeads",
            summary="Retention leads of a declined application (JR/T 0269 8.4.2 d)",
            tag="Lending",
            level="A2",
            service="07",
            sequence=7,
            audience="client",
            scopes=("applications",),
            resource="application",
        ),
    )
    async def leads(
        self, db: Db, subject: Subject, application_id: FromPath[uuid.UUID]
    ) -> list[LeadRead]:
        rows = await ApplicationService(db, subject).leads_of(application_id)
        return [
            LeadRead(
                id=lead.id,
                application_id=lead.application_id,
                referral=lead.referral,
                suggested_products=list(lead.suggested_products),
                reason=lead.reason,
                status=lead.status.value,
            )
            for lead in rows
        ]


def lending_router() -> Router:
    """The lending and risk domain's one router (app.py lists it)."""
    return Router(
        path="/",
        route_handlers=[
            ProductController,
            ProductPageController,
            OfferController,
            ApplicationController,
            OperatorRiskController,
        ],
    )
