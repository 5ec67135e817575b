"""Catalogue declarations for portal pages: service class 11 (partner portal) and 90 (operator
console, sequences from 40). Pages are HTML, so they stay out of the OpenAPI contract."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from puhui.gateway.catalogue import Audience, declare

__all__ = ["ANY_PARTNER", "BUILDERS", "MANAGERS", "STAFF", "console_page", "portal_page"]

ANY_PARTNER = ("owner", "admin", "developer", "viewer")
MANAGERS = ("owner", "admin")
BUILDERS = ("owner", "admin", "developer")
STAFF = ("operator", "risk_officer", "auditor")


def portal_page(
    operation_id: str,
    summary: str,
    sequence: int,
    *,
    audience: Audience = "member",
    roles: Iterable[str] = (),
    resource: str | None = None,
    write: bool = False,
) -> dict[str, Any]:
    """A partner-portal page; reads are not audited per view, every write is."""
    return {
        **declare(
            operation_id=operation_id,
            summary=summary,
            tag="Partner portal",
            level="A1",
            service="11",
            sequence=sequence,
            audience=audience,
            roles=roles,
            resource=resource,
            audited=write,
        ),
        "include_in_schema": False,
    }


def console_page(
    operation_id: str, summary: str, sequence: int, *, roles: Iterable[str], write: bool = False
) -> dict[str, Any]:
    """An operator-console page (bank staff only; the pipeline checks the roles)."""
    if sequence < 40:
        raise ValueError("operator console pages use service 90 sequences from 40")
    return {
        **declare(
            operation_id=operation_id,
            summary=summary,
            tag="Operator console",
            level="A1",
            service="90",
            sequence=sequence,
            audience="operator",
            roles=roles,
            audited=True,  # operators' reads of partner data are audited too
        ),
        "include_in_schema": False,
    }
