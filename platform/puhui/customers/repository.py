"""Queries for enterprises, customer users, one-time codes and customer sessions."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from puhui.customers.models import CustomerSession, CustomerUser, Enterprise, OneTimeCode
from puhui.db.repository import Repository
from puhui.security.sealed import blind_index

__all__ = [
    "CustomerSessionRepository",
    "CustomerUserRepository",
    "EnterpriseRepository",
    "OneTimeCodeRepository",
]


class EnterpriseRepository(Repository[Enterprise]):
    model = Enterprise

    async def by_uscc(self, uscc: str) -> Enterprise | None:
        stmt = select(Enterprise).where(Enterprise.uscc == uscc)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class CustomerUserRepository(Repository[CustomerUser]):
    model = CustomerUser

    async def by_phone(self, phone: str) -> CustomerUser | None:
        stmt = select(CustomerUser).where(CustomerUser.phone_bidx == blind_index("phone", phone))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def with_enterprise(self, user_id: uuid.UUID) -> tuple[CustomerUser, Enterprise] | None:
        stmt = (
            select(CustomerUser, Enterprise)
            .join(Enterprise, Enterprise.id == CustomerUser.enterprise_id)
            .where(CustomerUser.id == user_id)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])


class OneTimeCodeRepository(Repository[OneTimeCode]):
    model = OneTimeCode


class CustomerSessionRepository(Repository[CustomerSession]):
    model = CustomerSession

    async def by_token_hash(self, token_hash: str) -> CustomerSession | None:
        stmt = select(CustomerSession).where(CustomerSession.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()
