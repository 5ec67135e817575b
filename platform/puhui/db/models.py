"""Imports every domain's models so that ``metadata`` is complete (for Alembic and drift checks)."""

from puhui.audit.models import AuditRecord
from puhui.db.base import Base
from puhui.tenancy.models import Member, Tenant

metadata = Base.metadata

__all__ = ["AuditRecord", "Member", "Tenant", "metadata"]
