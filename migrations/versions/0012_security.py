"""security: audit hash chain columns, day heads, security alerts

Revision ID: 0012_security
Revises: 0003_partner_events
Create Date: 2026-11-28 14:21:48.430586
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_security"
down_revision: str | None = "0003_partner_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_day_heads",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archive_sha256", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_day_heads")),
        sa.UniqueConstraint("day", name=op.f("uq_audit_day_heads_day")),
    )
    op.create_table(
        "security_alerts",
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "authentication_failures",
                "signature_failures",
                "replay_attempts",
                "quota_exhaustion",
                name="alert_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "acknowledged", name="alert_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
    )
    with op.batch_alter_table("security_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_security_alerts_raised_at"), ["raised_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_security_alerts_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_security_alerts_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_level", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("consent_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("status_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("latency_us", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_records_day_seq"), ["day", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_records_day_seq"), type_="unique")
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("day")
        batch_op.drop_column("latency_us")
        batch_op.drop_column("status_code")
        batch_op.drop_column("consent_id")
        batch_op.drop_column("api_level")

    with op.batch_alter_table("security_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_alerts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_security_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_security_alerts_raised_at"))

    op.drop_table("security_alerts")
    op.drop_table("audit_day_heads")
