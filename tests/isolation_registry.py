"""What the tenant-isolation matrix needs to attack each kind of tenant-owned resource.

Every route that declares ``resource=...`` in its catalogue entry must have a builder here, and
every route with a request body must have a sample body: the matrix test fails otherwise, so a
new route is covered the moment it is added.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar

from puhui.tenancy.models import Member, Tenant
from tests.builders import create_member


@dataclass(frozen=True)
class Victim:
    """A resource in the victim's tenant: path parameters that address it, the row to watch."""

    path_params: dict[str, str]
    model: type[Any]
    row_id: uuid.UUID


Builder = Callable[[Litestar, Tenant], Awaitable[Victim]]


async def _member(app: Litestar, tenant: Tenant) -> Victim:
    member = await create_member(app, tenant, ["viewer"])
    return Victim({"member_id": str(member.id)}, Member, member.id)


@dataclass
class Registry:
    builders: dict[str, Builder] = field(default_factory=dict)
    # operationId -> a body that would be valid were the resource the caller's own
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)


REGISTRY = Registry(
    builders={"member": _member},
    bodies={
        "UpdateMember": {"version": 1, "display_name": "Renamed by an attacker", "roles": ["owner"]}
    },
)
