"""How long each source's data is kept (JR/T 0269 6.1: no longer than the purpose needs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

__all__ = ["DEFAULT_RETENTION", "RETENTION_BY_SOURCE", "retain_until"]

DEFAULT_RETENTION = timedelta(days=3 * 365)
"""Three years: a loan term plus the post-loan monitoring it supports."""

RETENTION_BY_SOURCE: Mapping[str, timedelta] = MappingProxyType(
    {
        "tax": timedelta(days=5 * 365),  # filings back multi-year revenue trends
        "procurement": timedelta(days=3 * 365),
        "utilities": timedelta(days=2 * 365),  # stability features look back 12 months
        "payroll": timedelta(days=2 * 365),
    }
)


def retain_until(data_source: str, fetched_at: datetime) -> datetime:
    """When a record fetched at ``fetched_at`` from ``data_source`` must be destroyed."""
    return fetched_at + RETENTION_BY_SOURCE.get(data_source, DEFAULT_RETENTION)
