"""The partner's workspace: dashboard, team and invitations, and the cooperation case."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from partner_portal.declare import ANY_PARTNER, MANAGERS, portal_page
from partner_portal.forms import field_errors, first, read_form
from partner_portal.rendering import page
from puhui.deps import Db, Subject
from puhui.errors import ProblemError
from puhui.oauth.clients import ClientRegistry
from puhui.onboarding.cooperation import PartnerCooperation
from puhui.onboarding.repository import PartnerDirectoryRepository
from puhui.onboarding.schemas import CooperationTerms, InvitationCreate
from puhui.onboarding.team import TeamService
from puhui.tenancy.models import PARTNER_ROLES

__all__ = ["WorkspacePages"]


class WorkspacePages(Controller):
    path = "/portal"

    @get("/", **portal_page("PortalDashboard", "Partner dashboard", 30, roles=ANY_PARTNER))
    async def dashboard(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        tenant = await PartnerDirectoryRepository(db).get(subject.tenant_id)
        view = await PartnerCooperation(db, subject).find()
        clients = await ClientRegistry(db, subject).page(200, 0)
        return page(
            request,
            "portal/dashboard.html",
            tenant=tenant,
            case=view.case if view else None,
            clients=clients,
        )

    @get("/team", **portal_page("TeamPage", "Team members and invitations", 31, roles=ANY_PARTNER))
    async def team(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        return await self._team(request, db, subject, errors={}, link=None)

    async def _team(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        *,
        errors: dict[str, str],
        link: str | None,
        status: int = 200,
    ) -> Response[Any]:
        service = TeamService(db, subject)
        return page(
            request,
            "portal/team.html",
            status_code=status,
            members=await service.members(),
            invitations=await service.open_invitations(),
            roles=sorted(PARTNER_ROLES),
            errors=errors,
            link=link,
            sandbox=request.app.state.settings.sandbox,
        )

    @post(
        "/team/invitations",
        **portal_page("InviteMember", "Invite a team member", 32, roles=MANAGERS, write=True),
    )
    async def invite(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        form = await read_form(request)
        roles = tuple(r for r in form.get("roles", []) if len(r) <= 32)
        try:
            link = await TeamService(db, subject).invite(
                InvitationCreate(email=first(form, "email", 254), roles=roles),
                portal_url=str(request.base_url).rstrip("/"),
            )
        except ProblemError as exc:
            if exc.kind.status not in {403, 409, 422}:
                raise
            await db.rollback()
            return await self._team(
                request, db, subject, errors=field_errors(exc), link=None, status=exc.kind.status
            )
        return await self._team(
            request,
            db,
            subject,
            errors={},
            link=link if request.app.state.settings.sandbox else None,
            status=201,
        )

    @post(
        "/team/invitations/{invitation_id:uuid}/revoke",
        **portal_page(
            "RevokeInvitation",
            "Revoke an invitation",
            33,
            roles=MANAGERS,
            resource="invitation",
            write=True,
        ),
    )
    async def revoke_invitation(
        self, db: Db, subject: Subject, invitation_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await TeamService(db, subject).revoke(invitation_id)
        return Redirect("/portal/team", status_code=303)

    @get(
        "/cooperation",
        **portal_page("CooperationPage", "The cooperation case", 34, roles=ANY_PARTNER),
    )
    async def cooperation(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        view = await PartnerCooperation(db, subject).find()
        return page(request, "portal/cooperation.html", view=view, errors={}, values=None)

    @post(
        "/cooperation",
        **portal_page(
            "SaveCooperationTerms",
            "Save or submit the cooperation terms",
            35,
            roles=MANAGERS,
            write=True,
        ),
    )
    async def save_cooperation(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        form = await read_form(request)
        terms = CooperationTerms(
            technical_plan=first(form, "technical_plan"),
            data_retention_terms=first(form, "data_retention_terms"),
            liability_terms=first(form, "liability_terms"),
        )
        service = PartnerCooperation(db, subject)
        try:
            await service.save(terms, submit=first(form, "action", 10) == "submit")
        except ProblemError as exc:
            if exc.kind.status not in {403, 409, 422}:
                raise
            await db.rollback()
            view = await service.view()
            return page(
                request,
                "portal/cooperation.html",
                status_code=exc.kind.status,
                view=view,
                errors=field_errors(exc),
                values=terms,
            )
        return Redirect("/portal/cooperation", status_code=303)

    @post(
        "/cooperation/accept",
        **portal_page(
            "AcceptCooperationAgreement",
            "Accept the cooperation agreement",
            36,
            roles=("owner",),
            write=True,
        ),
    )
    async def accept(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        form = await read_form(request)
        service = PartnerCooperation(db, subject)
        try:
            await service.accept_agreement(first(form, "agreement_sha256", 64))
        except ProblemError as exc:
            if exc.kind.status != 409:
                raise
            await db.rollback()
            return page(
                request,
                "portal/cooperation.html",
                status_code=409,
                view=await service.view(),
                errors=field_errors(exc),
                values=None,
            )
        return Redirect("/portal/cooperation", status_code=303)
