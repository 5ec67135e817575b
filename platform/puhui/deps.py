"""Request-scoped dependencies: the caller and the unit of work bound to its tenant."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.errors import AuthenticationRequired
from puhui.gateway.pipeline import SUBJECT_KEY
from puhui.tenancy.subject import AuthSubject

__all__ = ["Db", "MaybeSubject", "Subject", "dependencies"]


def provide_subject(request: Request[Any, Any, Any]) -> AuthSubject:
    subject = request.scope.get("state", {}).get(SUBJECT_KEY)
    if not isinstance(subject, AuthSubject):
        raise AuthenticationRequired()
    return subject


def provide_optional_subject(request: Request[Any, Any, Any]) -> AuthSubject | None:
    subject = request.scope.get("state", {}).get(SUBJECT_KEY)
    return subject if isinstance(subject, AuthSubject) else None


async def provide_db(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """One session per request, scoped to the caller's tenant; commits once after the handler."""
    subject = request.scope.get("state", {}).get(SUBJECT_KEY)
    tenant_id = subject.tenant_id if isinstance(subject, AuthSubject) else None
    session = request.app.state.db(tenant_id)
    try:
        yield session
    except BaseException:
        await session.rollback()
        await session.close()
        raise
    else:
        await session.commit()
        await session.close()


dependencies = {
    "subject": Provide(provide_subject, sync_to_thread=False),
    "maybe_subject": Provide(provide_optional_subject, sync_to_thread=False),
    "db": Provide(provide_db),
}

# Handler parameter types: explicit markers so Litestar never has to infer what a parameter is.
Db: TypeAlias = NamedDependency[AsyncSession]
Subject: TypeAlias = NamedDependency[AuthSubject]
MaybeSubject: TypeAlias = NamedDependency[AuthSubject | None]
