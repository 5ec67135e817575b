"""consent uses and shared OAuth state: per-day use counts enforcing a consent's use frequency,
and the OAuth stores (replay, pushed requests, revocations) shared by workers without Redis

Revision ID: 0021_consent_oauth_shared
Revises: 0020_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_consent_oauth_shared"
down_revision: str | Sequence[str] | None = "0020_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_uses",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
            name=op.f("fk_consent_uses_consent_id_consents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_uses")),
        sa.UniqueConstraint("consent_id", "day", name=op.f("uq_consent_uses_consent_id_day")),
    )
    with op.batch_alter_table("consent_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_uses_consent_id"), ["consent_id"], unique=False
        )
    op.create_table(
        "oauth_shared_entries",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_shared_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_oauth_shared_entries_key")),
    )
    with op.batch_alter_table("oauth_shared_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_shared_entries_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_shared_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_shared_entries_expires_at"))
    op.drop_table("oauth_shared_entries")
    with op.batch_alter_table("consent_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_uses_consent_id"))
    op.drop_table("consent_uses")
