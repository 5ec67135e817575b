"""What the tenant-isolation matrix needs to attack each kind of tenant-owned resource.

Every route that declares ``resource=...`` in its catalogue entry must have a builder, and every
route with a request body must have a sample body: the matrix test fails otherwise, so a new route
is covered the moment it is added.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar

from puhui.tenancy.models import Tenant


@dataclass(frozen=True)
class Victim:
    """A resource in the victim's tenant: path parameters that address it, the row to watch."""

    path_params: dict[str, str]
    model: type[Any]
    row_id: uuid.UUID


Builder = Callable[[Litestar, Tenant], Awaitable[Victim]]
# (app, attacker tenant, victim, scopes) -> an HTTP client acting for the attacker's OAuth client
Caller = Callable[[Litestar, Tenant, Victim, frozenset[str]], Awaitable[httpx.AsyncClient]]


@dataclass
class Registry:
    builders: dict[str, Builder] = field(default_factory=dict)
    # operationId -> a body that would be valid were the resource the caller's own
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    # resource -> how to build the attacking client for audience-"client" routes, when the
    # default (an OAuth client with the route's scopes, no consent) would be refused for a
    # reason other than ownership
    callers: dict[str, Caller] = field(default_factory=dict)


REGISTRY = Registry()


def register_builder(resource: str) -> Callable[[Builder], Builder]:
    def wrap(fn: Builder) -> Builder:
        REGISTRY.builders[resource] = fn
        return fn

    return wrap


def register_caller(resource: str) -> Callable[[Caller], Caller]:
    def wrap(fn: Caller) -> Caller:
        REGISTRY.callers[resource] = fn
        return fn

    return wrap


def register_body(operation_id: str, body: dict[str, Any]) -> None:
    REGISTRY.bodies[operation_id] = body
