"""The sandbox inbox page: codes "sent" to sandbox customers, for developers testing the flow."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template
from partner_portal.rendering import page
from sqlalchemy import select

import puhui.consent.messages  # noqa: F401 - registers the pages' wording
from puhui.errors import NotFound
from puhui.gateway.catalogue import declare
from puhui.notify.models import SandboxMessage

__all__ = ["SandboxInboxPage"]


class SandboxInboxPage(Controller):
    path = "/sandbox/inbox"
    include_in_schema = False

    @get(
        "/",
        **declare(
            operation_id="SandboxInbox",
            summary="Notices sent to sandbox customers",
            tag="Consent",
            level="A1",
            service="04",
            sequence=20,
            audience="member",
        ),
    )
    async def inbox(self, request: Request[Any, Any, Any]) -> Template:
        state = request.app.state
        if not state.settings.sandbox:
            raise NotFound()  # never in production: there is no inbox there
        async with state.db.unit_of_work() as session:
            rows = (
                (
                    await session.execute(
                        select(SandboxMessage).order_by(SandboxMessage.created_at.desc()).limit(50)
                    )
                )
                .scalars()
                .all()
            )
        return page(request, "customer/sandbox_inbox.html", messages=list(rows))
