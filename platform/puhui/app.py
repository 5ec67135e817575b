"""``create_app()``: the one place the Litestar app is assembled from the domains' routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.app import ExperimentalFeatures
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from partner_portal.rendering import template_config
from partner_portal.routes import portal_router

import puhui
from puhui.config import Settings, get_settings
from puhui.consent.routes import consent_router
from puhui.db.engine import create_engine
from puhui.db.session import SessionFactory
from puhui.deps import dependencies
from puhui.errors import exception_handlers
from puhui.gateway.meta import ContractRenderPlugin, MetaController
from puhui.gateway.pipeline import GatewayPipeline
from puhui.gateway.steps import GatewayControls
from puhui.health.controllers import HealthController
from puhui.identity.controllers import SessionController
from puhui.identity.sessions import SessionStore
from puhui.jobs import JobContext
from puhui.jobs.controllers import jobs_router
from puhui.jobs.scheduler import scheduler
from puhui.lending.controllers import lending_router
from puhui.notify import require_notifier
from puhui.oauth.router import oauth_router
from puhui.observability import configure_logging
from puhui.scenario.wiring import sandbox_upstreams, scenario_router
from puhui.security.controllers import security_router
from puhui.security.keyring import data_keyring, install_keyring
from puhui.servicing.controllers import servicing_router
from puhui.tenancy.controllers import MemberController, OperatorTenantController, TenantController

__all__ = ["create_app"]


def domain_routers() -> Sequence[Router]:
    """Each domain contributes one router; adding a domain means adding a line here."""
    return [
        Router(path="/", route_handlers=[MetaController, HealthController]),
        Router(path="/", route_handlers=[SessionController]),
        lending_router(),
        Router(
            path="/", route_handlers=[TenantController, MemberController, OperatorTenantController]
        ),
        oauth_router,
        consent_router(),
        scenario_router(),
        security_router(),
        servicing_router(),
        jobs_router(),
        portal_router(),
    ]


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Puhui Open Platform API",
        version=puhui.__version__,
        description=(
            "Open banking for inclusive SME lending (JR/T 0269-2023). Every operation carries "
            "its JR/T 0185 API id and security level as x-puhui-* extensions. Errors are "
            "RFC 9457 problem documents."
        ),
        path="/schema",
        render_plugins=[ContractRenderPlugin(path="/openapi.json")],
        use_handler_docstrings=False,
        components=Components(
            security_schemes={
                "portalSession": SecurityScheme(
                    type="apiKey",
                    name="puhui_session",
                    security_scheme_in="cookie",
                    description="Portal session cookie; unsafe methods also need X-CSRF-Token.",
                ),
                "customerSession": SecurityScheme(
                    type="apiKey",
                    name="puhui_customer",
                    security_scheme_in="cookie",
                    description="Consent-centre customer session cookie; unsafe methods also "
                    "need the session's X-CSRF-Token.",
                ),
                "oauth2": SecurityScheme(
                    type="oauth2",
                    description="FAPI 2.0 grade OAuth 2 (PAR, PKCE S256, DPoP, private_key_jwt).",
                    flows=None,
                ),
            }
        ),
    )


def create_app(settings: Settings | None = None, *, session_store: Store | None = None) -> Litestar:
    settings = settings or get_settings()
    require_notifier(settings)  # production never starts on the sandbox notifier
    configure_logging(settings.log_level, json=settings.log_json)
    install_keyring(data_keyring(settings))
    engine = create_engine(settings)
    redis_client: Any = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis_client = Redis.from_url(settings.redis_url)
    if session_store is None:
        if redis_client is not None:
            from litestar.stores.redis import RedisStore

            session_store = RedisStore(redis_client, namespace="puhui")
        else:
            session_store = MemoryStore()

    db = SessionFactory(engine)
    gateway = GatewayControls.build(settings, db, redis_client)
    state = State(
        {
            "settings": settings,
            "db": db,
            "gateway": gateway,
            "redis": redis_client,
            "sessions": SessionStore(
                session_store,
                idle_seconds=settings.session_idle_seconds,
                absolute_seconds=settings.session_absolute_seconds,
            ),
        }
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            if settings.jobs_enabled:
                context = JobContext(settings=settings, db=db, redis=redis_client)
                async with scheduler(context, tick_seconds=settings.jobs_tick_seconds):
                    yield
            else:
                yield
        finally:
            await gateway.audit.close()
            await engine.dispose()
            if redis_client is not None:
                await redis_client.aclose()

    return Litestar(
        route_handlers=list(domain_routers()),
        dependencies=dependencies,
        middleware=[GatewayPipeline()],
        exception_handlers=exception_handlers,
        openapi_config=_openapi_config(),
        state=state,
        lifespan=[lifespan, sandbox_upstreams],
        request_max_body_size=settings.max_body_bytes,
        template_config=template_config(),
        debug=False,
        logging_config=None,  # puhui.observability owns logging: JSON lines, redaction
        experimental_features=list[ExperimentalFeatures](),
    )
