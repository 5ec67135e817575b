"""Tenant-isolation matrix: every tenant-owned route, called with another tenant's credentials,
answers 404 and changes nothing. Routes are enumerated from the app, so new ones are covered."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from tests.builders import create_tenant, member_client, row_snapshot
from tests.isolation import load_registry
from tests.oauth_builders import client_caller

from puhui.gateway.catalogue import ApiSpec, spec_of

pytestmark = pytest.mark.anyio
_ALL_PARTNER_ROLES = ("owner", "admin", "developer", "viewer")


def tenant_scoped_routes(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler, ApiSpec]]:
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            spec = spec_of(handler.opt)
            if spec is None or spec.resource is None:
                continue
            for method in sorted(handler.http_methods):
                out.append((method, route.path_format, handler, spec))
    return out


def test_every_route_addressing_a_resource_by_id_declares_it(app: Litestar) -> None:
    """A non-operator route with a path parameter names its resource, or it escapes the matrix."""
    missing = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            spec = spec_of(handler.opt)
            if spec is None or spec.audience in {"public", "operator"}:
                continue
            if "{" in route.path_format and spec.resource is None:
                missing.append(f"{sorted(handler.http_methods)} {route.path_format}")
    assert missing == []


def test_the_matrix_has_routes_to_attack(app: Litestar) -> None:
    assert len(tenant_scoped_routes(app)) >= 3


async def test_another_tenants_credentials_get_404_and_change_nothing(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    routes = tenant_scoped_routes(app)
    registry = load_registry()
    victim_tenant = await create_tenant(app)
    member_attacker, attacker_tenant, _member = await member_client(app, _ALL_PARTNER_ROLES)
    failures: list[str] = []
    for method, path, handler, spec in routes:
        builder = registry.builders.get(spec.resource or "")
        if builder is None:
            failures.append(f"{method} {path}: no isolation builder for resource {spec.resource!r}")
            continue
        victim = await builder(app, victim_tenant)
        params = victim.path_params
        url = re.sub(r"\{(\w+)\}", lambda m, p=params: p[m.group(1)], path)
        kwargs = {}
        if "data" in handler.parsed_fn_signature.parameters:
            body = registry.bodies.get(spec.operation_id)
            if body is None:
                failures.append(f"{method} {path}: no sample body for {spec.operation_id}")
                continue
            kwargs["json"] = body
        # Partner-app routes are attacked by an OAuth client of the attacker's tenant holding every
        # scope the route needs (and, where a domain registers one, a consent for the same
        # enterprise): everything is in order except who owns the row.
        if spec.audience == "client":
            make = registry.callers.get(spec.resource or "")
            attacker = (
                await make(app, attacker_tenant, victim, spec.scopes)
                if make
                else await client_caller(app, attacker_tenant, spec.scopes)
            )
        else:
            attacker = member_attacker
        before = await row_snapshot(app, victim.model, victim.row_id)
        response = await attacker.request(method, url, **kwargs)
        after = await row_snapshot(app, victim.model, victim.row_id)
        if response.status_code != 404:
            failures.append(f"{method} {path}: answered {response.status_code}, not 404")
        if before != after:
            failures.append(f"{method} {path}: changed the victim's row")
    assert failures == []
