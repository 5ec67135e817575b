"""Job bookkeeping: a lease per job (one runner at a time across workers) and run history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base

__all__ = ["JobLease", "JobRun"]


class JobLease(Base):
    """Who runs a job now. A worker takes the lease with one conditional UPDATE."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(80), unique=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    leased_until: Mapped[datetime] = mapped_column()
    last_started_at: Mapped[datetime | None] = mapped_column()
    last_finished_at: Mapped[datetime | None] = mapped_column()


class JobRun(Base):
    """One run of one job, by the scheduler or the CLI."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(80), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # "schedule" | "cli"
    holder: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20))  # "running" | "ok" | "failed"
    handled: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
