"""The consent domain's one router: partner and customer APIs, authorize pages, consent centre."""

from __future__ import annotations

from litestar import Router

from puhui.consent.centre import ConsentCentrePages
from puhui.consent.controllers import ConsentController, CustomerConsentController
from puhui.consent.pages import AuthorizePages
from puhui.notify.controllers import SandboxInboxPage

__all__ = ["consent_router"]


def consent_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            ConsentController,
            CustomerConsentController,
            AuthorizePages,
            ConsentCentrePages,
            SandboxInboxPage,
        ],
    )
