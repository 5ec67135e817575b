"""jobs: merge the domain branches; job leases and run history for the scheduler

Revision ID: 0020_jobs
Revises: 0010_oauth, 0011_consent, 0012_security, 0013_scenario, 0014_lending, 0015_servicing,
    0016_onboarding
Create Date: 2026-11-28 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_jobs"
down_revision: str | Sequence[str] | None = (
    "0010_oauth",
    "0011_consent",
    "0012_security",
    "0013_scenario",
    "0014_lending",
    "0015_servicing",
    "0016_onboarding",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_leases")),
        sa.UniqueConstraint("name", name=op.f("uq_job_leases_name")),
    )
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index(op.f("ix_job_runs_name"), "job_runs", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_runs_name"), table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("job_leases")
