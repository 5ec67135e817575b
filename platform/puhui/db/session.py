"""The request's unit of work and the one place tenant scoping happens.

Every session carries the caller's tenant in ``session.info``. On each ORM statement the
``do_orm_execute`` hook adds ``tenant_id == <caller's tenant>`` for every TenantOwned entity
(selects, updates, deletes, relationship loads), and ``before_flush`` refuses to write a row of
another tenant. A session with no tenant and no explicit, audited bypass refuses tenant-owned
queries altogether: scoping fails closed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from puhui.db.base import TenantOwned

__all__ = ["SessionFactory", "TenantScopeError", "allow_cross_tenant_write", "tenant_bypass"]

TENANT_KEY = "puhui.tenant_id"
BYPASS_KEY = "puhui.bypass_reason"


class TenantScopeError(RuntimeError):
    """A tenant-owned query ran without a tenant context: a programming error, never silent."""


class SessionFactory:
    """Makes sessions bound to a caller's tenant (or to an explicit operator bypass)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._maker = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)

    def __call__(self, tenant_id: uuid.UUID | None = None) -> AsyncSession:
        session = self._maker()
        session.info[TENANT_KEY] = tenant_id
        return session

    @asynccontextmanager
    async def unit_of_work(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """Commit once at the end, roll back on any error."""
        session = self(tenant_id)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()


def set_tenant(session: AsyncSession | Session, tenant_id: uuid.UUID | None) -> None:
    session.info[TENANT_KEY] = tenant_id


@contextmanager
def tenant_bypass(session: AsyncSession | Session, reason: str) -> Iterator[None]:
    """Lift tenant scoping for an operator route. The caller must audit the access (reason)."""
    if not reason:
        raise ValueError("a tenant bypass needs a stated reason")
    previous = session.info.get(BYPASS_KEY)
    session.info[BYPASS_KEY] = reason
    try:
        yield
    finally:
        session.info[BYPASS_KEY] = previous


_CROSS_TENANT = "_puhui_cross_tenant_reason"


def allow_cross_tenant_write(obj: TenantOwned, reason: str) -> None:
    """Let this one new row be written for another tenant (e.g. an event for the partner a
    customer's action concerns). The reason is required and the row names its tenant itself."""
    if not reason:
        raise ValueError("a cross-tenant write needs a stated reason")
    setattr(obj, _CROSS_TENANT, reason)


def _tenant_owned_in(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.info.get(BYPASS_KEY):
        return
    if state.execution_options.get("include_all_tenants_checked"):
        return
    tenant_id = state.session.info.get(TENANT_KEY)
    if tenant_id is None:
        if _tenant_owned_in(state):
            raise TenantScopeError("tenant-owned query without a tenant context")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _refuse_foreign_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get(BYPASS_KEY):
        return
    tenant_id = session.info.get(TENANT_KEY)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, TenantOwned):
            continue
        if obj in session.new and getattr(obj, _CROSS_TENANT, None) and obj.tenant_id is not None:
            continue
        if tenant_id is None:
            raise TenantScopeError("tenant-owned write without a tenant context")
        owner: uuid.UUID | None = obj.tenant_id
        if owner is None and obj in session.new:
            obj.tenant_id = tenant_id
        elif owner != tenant_id:
            raise TenantScopeError("write to another tenant's row refused")
