"""lending: limit re-check time, idempotent limit events, address and bank account on applications

Revision ID: 0024_lending_recheck
Revises: 0020_jobs
Create Date: 2026-11-28 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_lending_recheck"
down_revision: str | None = "0020_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_credit_limits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("credit_limit_events", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_credit_limit_events_limit_id_kind_reference"),
            ["limit_id", "kind", "reference"],
        )
    with op.batch_alter_table("loan_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("business_address", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("address_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("bank_account_enc", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("bank_account_bidx", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_loan_applications_address_key"), ["address_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_loan_applications_bank_account_bidx"),
            ["bank_account_bidx"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("loan_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_applications_bank_account_bidx"))
        batch_op.drop_index(batch_op.f("ix_loan_applications_address_key"))
        batch_op.drop_column("bank_account_bidx")
        batch_op.drop_column("bank_account_enc")
        batch_op.drop_column("address_key")
        batch_op.drop_column("business_address")
    with op.batch_alter_table("credit_limit_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_credit_limit_events_limit_id_kind_reference"), type_="unique"
        )
    with op.batch_alter_table("customer_credit_limits", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
