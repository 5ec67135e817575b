"""The OAuth domain's one router (listed in `puhui.app.domain_routers`)."""

from __future__ import annotations

from litestar import Router

from puhui.oauth.controllers import (
    OAuthCallerController,
    OAuthClientController,
    OAuthServerController,
    OperatorOAuthClientController,
)

__all__ = ["oauth_router"]

oauth_router = Router(
    path="/",
    route_handlers=[
        OAuthServerController,
        OAuthClientController,
        OperatorOAuthClientController,
        OAuthCallerController,
    ],
)
