"""Repository base: every ``select()`` lives in one; the session does scoping."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.db.base import Base
from puhui.errors import NotFound

__all__ = ["Repository"]

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def query(self) -> Select[M]:
        return select(self.model)

    async def get(self, id_: uuid.UUID) -> M:
        """The row, or NotFound — also when it belongs to another tenant (scoping hides it)."""
        row = (
            await self.session.execute(self.query().where(self.model.id == id_))
        ).scalar_one_or_none()
        if row is None:
            raise NotFound()
        return row

    async def list(
        self, stmt: Select[M] | None = None, *, limit: int = 100, offset: int = 0
    ) -> Sequence[M]:
        stmt = self.query() if stmt is None else stmt
        result = await self.session.execute(
            stmt.order_by(self.model.created_at, self.model.id).limit(limit).offset(offset)
        )
        return result.scalars().all()

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def flush(self) -> None:
        await self.session.flush()
