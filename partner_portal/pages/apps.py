"""Apps and keys: register OAuth clients, see a client secret once, rotate it with an overlap
window, revoke, and ask the bank for production access per app."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from partner_portal.declare import ANY_PARTNER, BUILDERS, MANAGERS, portal_page
from partner_portal.forms import field_errors, first, read_form
from partner_portal.keys import jwks_from_upload
from partner_portal.pages.sandbox import catalogue_scopes
from partner_portal.rendering import page
from puhui.deps import Db, Subject
from puhui.errors import FieldError, InvalidRequest, ProblemError
from puhui.oauth.clients import SECRET_OVERLAP, ClientRegistry
from puhui.oauth.schemas import ClientCreate
from puhui.onboarding.production import ProductionAccess
from puhui.onboarding.schemas import ProductionRequestCreate

__all__ = ["AppPages"]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _client_create(form: dict[str, list[str]]) -> ClientCreate:
    auth_method = first(form, "auth_method", 40) or "private_key_jwt"
    raw: dict[str, Any] = {
        "name": first(form, "name", 200).strip(),
        "auth_method": auth_method,
        "redirect_uris": _lines(first(form, "redirect_uris", 6000)),
        "grant_types": form.get("grant_types") or ["client_credentials"],
        "scopes": form.get("scopes") or [],
        "ip_allowlist": _lines(first(form, "ip_allowlist", 4000)),
    }
    if auth_method == "private_key_jwt":
        jwks_uri = first(form, "jwks_uri", 500).strip()
        public_key = first(form, "public_key", 20_000).strip()
        if jwks_uri and public_key:
            raise InvalidRequest(
                errors=[FieldError("jwks_uri", "give a JWKS URI or a key, not both")]
            )
        if jwks_uri:
            raw["jwks_uri"] = jwks_uri
        elif public_key:
            raw["jwks"] = jwks_from_upload(public_key)
        else:
            raise InvalidRequest(
                errors=[FieldError("public_key", "give a JWKS URI or a public key")]
            )
    try:
        return msgspec.convert(raw, ClientCreate)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = (
            message.split("$.", 1)[1].split("[")[0].split("`")[0] if "$." in message else "_form"
        )
        raise InvalidRequest(errors=[FieldError(field, message.split(" - at ")[0])]) from None


class AppPages(Controller):
    path = "/portal/apps"

    @get("/", **portal_page("AppsPage", "The organisation's apps", 20, roles=ANY_PARTNER))
    async def index(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        clients = await ClientRegistry(db, subject).page(200, 0)
        return page(request, "apps/index.html", clients=clients)

    @get("/new", **portal_page("NewAppPage", "Register an app", 21, roles=BUILDERS))
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(
            request, "apps/new.html", values={}, errors={}, scopes=catalogue_scopes(request)
        )

    @post(
        "/",
        **portal_page("RegisterApp", "Register an OAuth client", 22, roles=BUILDERS, write=True),
    )
    async def register(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> Response[Any]:
        form = await read_form(request)
        try:
            client, secret = await ClientRegistry(db, subject).create(_client_create(form))
        except ProblemError as exc:
            if exc.kind.status not in {403, 409, 422}:
                raise
            await db.rollback()
            values = {k: v[0] for k, v in form.items() if k not in {"_csrf"}}
            values["scopes_selected"] = form.get("scopes", [])  # type: ignore[assignment]
            values["grants_selected"] = form.get("grant_types", [])  # type: ignore[assignment]
            return page(
                request,
                "apps/new.html",
                status_code=exc.kind.status,
                values=values,
                errors=field_errors(exc),
                scopes=catalogue_scopes(request),
            )
        if secret is None:
            return Redirect(f"/portal/apps/{client.id}", status_code=303)
        return page(request, "apps/secret.html", client=client, secret=secret, rotated_until=None)

    @get(
        "/{client_id:uuid}",
        **portal_page("AppPage", "One app", 23, roles=ANY_PARTNER, resource="oauth_client"),
    )
    async def show(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        client_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        client = await ClientRegistry(db, subject).get(client_id)
        requests = await ProductionAccess(db, subject).of_client(client)
        return page(
            request,
            "apps/show.html",
            client=client,
            requests=requests,
            errors={},
            overlap_hours=int(SECRET_OVERLAP.total_seconds() // 3600),
        )

    @post(
        "/{client_id:uuid}/rotate",
        **portal_page(
            "RotateAppSecret",
            "Rotate an app's secret",
            24,
            roles=BUILDERS,
            resource="oauth_client",
            write=True,
        ),
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        client_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        registry = ClientRegistry(db, subject)
        client = await registry.get(client_id)
        secret, until = await registry.rotate_secret(client.id)
        return page(request, "apps/secret.html", client=client, secret=secret, rotated_until=until)

    @post(
        "/{client_id:uuid}/revoke",
        **portal_page(
            "RevokeApp", "Revoke an app", 25, roles=MANAGERS, resource="oauth_client", write=True
        ),
    )
    async def revoke(
        self, db: Db, subject: Subject, client_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await ClientRegistry(db, subject).revoke(client_id)
        return Redirect(f"/portal/apps/{client_id}", status_code=303)

    @post(
        "/{client_id:uuid}/production",
        **portal_page(
            "RequestProductionAccess",
            "Ask for production access",
            26,
            roles=MANAGERS,
            resource="oauth_client",
            write=True,
        ),
    )
    async def production(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        client_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        registry = ClientRegistry(db, subject)
        client = await registry.get(client_id)
        form = await read_form(request)
        calls = first(form, "expected_monthly_calls", 12).strip()
        access = ProductionAccess(db, subject)
        try:
            data = ProductionRequestCreate(
                justification=first(form, "justification", 4000),
                expected_monthly_calls=int(calls) if calls.isdigit() else 0,
            )
            await access.request(client.id, data)
        except ProblemError as exc:
            if exc.kind.status not in {409, 422}:
                raise
            await db.rollback()
            client = await registry.get(client_id)
            return page(
                request,
                "apps/show.html",
                status_code=exc.kind.status,
                client=client,
                requests=await access.of_client(client),
                errors=field_errors(exc),
                overlap_hours=int(SECRET_OVERLAP.total_seconds() // 3600),
            )
        return Redirect(f"/portal/apps/{client.id}", status_code=303)
