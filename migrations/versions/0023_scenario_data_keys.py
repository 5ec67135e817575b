"""scenario: one wrapped data key per stored batch (envelope encryption per batch)

Revision ID: 0023_scenario_data_keys
Revises: 0020_jobs
Create Date: 2026-11-28 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_scenario_data_keys"
down_revision: str | None = "0020_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scenario_data_keys",
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_dek", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_data_keys")),
    )
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_key_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_scenario_records_data_key_id"), ["data_key_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_scenario_records_data_key_id_scenario_data_keys"),
            "scenario_data_keys",
            ["data_key_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_scenario_records_data_key_id_scenario_data_keys"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_scenario_records_data_key_id"))
        batch_op.drop_column("data_key_id")
    op.drop_table("scenario_data_keys")
