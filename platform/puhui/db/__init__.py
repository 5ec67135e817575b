"""Persistence: declarative base, engines, unit of work, tenant scoping."""

from puhui.db.base import Base, TenantOwned, Versioned
from puhui.db.engine import create_engine
from puhui.db.session import SessionFactory, tenant_bypass

__all__ = ["Base", "SessionFactory", "TenantOwned", "Versioned", "create_engine", "tenant_bypass"]
