"""Data-key rotation: re-encrypt every sealed C2/C3 value under the current key version.

Resumable by construction: each batch selects only rows still holding a value under an older
version (``NOT LIKE 'v<current>:%'``), re-seals them and commits, so an interrupted run simply
continues where the last committed batch ended (JR/T 0171-2020 key management).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from puhui.db.base import Base
from puhui.db.models import load_all_models
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.oauth.models import OAuthClient
from puhui.security.keyring import keyring
from puhui.security.sealed import Sealed

__all__ = ["SealedModel", "pending_rows", "rotate_model", "sealed_models"]

_REASON = "keys.rotate_data: bank-wide re-encryption of sealed values"

# Encrypted columns that follow the Sealed convention without declaring the descriptor.
_UNDECLARED: dict[type[Any], tuple[Sealed[str], ...]] = {
    OAuthClient: (Sealed[str]("signing_secret"),),
}


@dataclass(frozen=True, slots=True)
class SealedModel:
    """A mapped class and its sealed attributes."""

    model: type[Any]
    fields: tuple[Sealed[str], ...]

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)

    def stale(self, current: int) -> ColumnElement[bool]:
        """Rows holding at least one value sealed under another key version."""
        prefix = f"v{current}:%"
        return or_(
            *(
                (getattr(self.model, f.column).is_not(None))
                & (getattr(self.model, f.column).not_like(prefix))
                for f in self.fields
            )
        )


def _declared(cls: type[Any]) -> Iterator[Sealed[str]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if isinstance(value, Sealed) and value.column not in seen:
                seen.add(value.column)
                yield value


def sealed_models() -> list[SealedModel]:
    """Every model with sealed attributes, discovered from the mapped classes."""
    load_all_models()
    found: list[SealedModel] = []
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
        cls = mapper.class_
        fields = (*_declared(cls), *_UNDECLARED.get(cls, ()))
        if fields:
            found.append(SealedModel(cls, tuple(fields)))
    return found


async def pending_rows(db: SessionFactory, target: SealedModel) -> int:
    current = keyring().current
    async with db.unit_of_work() as session:
        with tenant_bypass(session, reason=_REASON):
            count = await session.scalar(
                select(func.count()).select_from(target.model).where(target.stale(current))
            )
    return int(count or 0)


async def rotate_model(
    db: SessionFactory,
    target: SealedModel,
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-seal the model's stale rows, one committed batch at a time; returns rows rotated."""
    current = keyring().current
    done = 0
    while True:
        async with db.unit_of_work() as session:
            with tenant_bypass(session, reason=_REASON):
                rows = (
                    await session.scalars(
                        select(target.model)
                        .where(target.stale(current))
                        .order_by(target.model.id)
                        .limit(batch_size)
                    )
                ).all()
                for row in rows:
                    for sealed in target.fields:
                        if sealed.needs_rotation(row):
                            sealed.reseal(row)
                await session.flush()
        if not rows:
            return done
        done += len(rows)
        if progress is not None:
            progress(len(rows))
