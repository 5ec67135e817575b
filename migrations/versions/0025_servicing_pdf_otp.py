"""servicing: contract PDF and the customer one-time code, disbursement request key, model reports

The contract keeps the PDF rendering sealed at signing (and its SHA-256) and the id of the
customer one-time code (``customer_one_time_codes``) that proved the signer's presence, which
replaces servicing's own ``contract_signing_codes`` table. A disbursement remembers the
``Idempotency-Key`` of the request that created it. Model-monitoring runs are stored.

Revision ID: 0025_servicing_pdf_otp
Revises: 0020_jobs
Create Date: 2026-11-28 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_servicing_pdf_otp"
down_revision: str | None = "0020_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contract_signing_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_signing_codes_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_contract_signing_codes_contract_id"))
    op.drop_table("contract_signing_codes")
    with op.batch_alter_table("loan_contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_code_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("pdf", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("pdf_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("loan_disbursements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(length=255), nullable=True))
    op.create_table(
        "model_monitoring_reports",
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("development_size", sa.Integer(), nullable=False),
        sa.Column("recent_size", sa.Integer(), nullable=False),
        sa.Column("matured_size", sa.Integer(), nullable=False),
        sa.Column("score_psi", sa.Float(), nullable=True),
        sa.Column("feature_psi", sa.JSON(), nullable=False),
        sa.Column("ks", sa.Float(), nullable=True),
        sa.Column("auc", sa.Float(), nullable=True),
        sa.Column("bad_rate_by_grade", sa.JSON(), nullable=False),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_monitoring_reports")),
        sa.UniqueConstraint(
            "model_id",
            "model_version",
            "run_key",
            name=op.f("uq_model_monitoring_reports_model_id_model_version_run_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("model_monitoring_reports")
    with op.batch_alter_table("loan_disbursements", schema=None) as batch_op:
        batch_op.drop_column("request_key")
    with op.batch_alter_table("loan_contracts", schema=None) as batch_op:
        batch_op.drop_column("pdf_sha256")
        batch_op.drop_column("pdf")
        batch_op.drop_column("signing_code_id")
    op.create_table(
        "contract_signing_codes",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["loan_contracts.id"],
            name=op.f("fk_contract_signing_codes_contract_id_loan_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contract_signing_codes_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_signing_codes")),
    )
    with op.batch_alter_table("contract_signing_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_signing_codes_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contract_signing_codes_tenant_id"), ["tenant_id"], unique=False
        )
