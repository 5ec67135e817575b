"""Lending and risk: products, offers, applications, decisions, limits, review, leads.

Revision ID: 0014_lending
Revises: 0003_partner_events
Create Date: 2026-11-28 14:22:47.577902
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_lending"
down_revision: str | None = "0003_partner_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admission_rulesets",
        sa.Column("ruleset_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_rulesets")),
        sa.UniqueConstraint(
            "ruleset_id", "version", name=op.f("uq_admission_rulesets_ruleset_id_version")
        ),
    )
    op.create_table(
        "customer_credit_limits",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "sub_limits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_credit_limits")),
        sa.UniqueConstraint("uscc", name=op.f("uq_customer_credit_limits_uscc")),
    )
    op.create_table(
        "fraud_blacklist",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_blacklist")),
    )
    with op.batch_alter_table("fraud_blacklist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fraud_blacklist_value"), ["value"], unique=False)

    op.create_table(
        "loan_products",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_products")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_loan_products_code_version")),
    )
    with op.batch_alter_table("loan_products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_products_code"), ["code"], unique=False)

    op.create_table(
        "scoring_models",
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_models")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_scoring_models_model_id_version")),
    )
    op.create_table(
        "credit_limit_events",
        sa.Column("limit_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("exposure_fen", sa.BigInteger(), nullable=False),
        sa.Column("available_fen", sa.BigInteger(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["limit_id"],
            ["customer_credit_limits.id"],
            name=op.f("fk_credit_limit_events_limit_id_customer_credit_limits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_limit_events")),
    )
    with op.batch_alter_table("credit_limit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_limit_events_limit_id"), ["limit_id"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=128), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_idempotency_keys_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "tenant_id",
            "caller",
            "operation",
            "key",
            name=op.f("uq_idempotency_keys_tenant_id_caller_operation_key"),
        ),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "loan_offers",
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("consent_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("min_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("max_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "term_options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("annual_rate", sa.String(length=16), nullable=False),
        sa.Column("apr_percent", sa.String(length=16), nullable=False),
        sa.Column(
            "cost_example",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "created",
                "delivered",
                "accepted",
                "expired",
                "revoked",
                "rejected",
                name="offer_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_loan_offers_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_offers")),
    )
    with op.batch_alter_table("loan_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loan_offers_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_loan_offers_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_offers_uscc"), ["uscc"], unique=False)

    op.create_table(
        "loan_applications",
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("consent_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("legal_rep_name", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("repayment_method", sa.String(length=32), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone_enc", sa.String(length=512), nullable=True),
        sa.Column("contact_phone_bidx", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "collecting_data",
                "data_ready",
                "under_decision",
                "approved",
                "manual_review",
                "declined",
                "withdrawn",
                "expired",
                name="application_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "missing_sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.Column("approved_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("annual_rate", sa.String(length=16), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["loan_offers.id"],
            name=op.f("fk_loan_applications_offer_id_loan_offers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_loan_applications_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_applications")),
    )
    with op.batch_alter_table("loan_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loan_applications_contact_phone_bidx"),
            ["contact_phone_bidx"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_loan_applications_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_loan_applications_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_loan_applications_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_loan_applications_uscc"), ["uscc"], unique=False)

    op.create_table(
        "credit_decisions",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("product_version", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("limit_fen", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.String(length=16), nullable=True),
        sa.Column("ruleset_id", sa.String(length=64), nullable=False),
        sa.Column("ruleset_version", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_applications.id"],
            name=op.f("fk_credit_decisions_application_id_loan_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_credit_decisions_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_decisions")),
    )
    with op.batch_alter_table("credit_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_decisions_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_decisions_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credit_decisions_uscc"), ["uscc"], unique=False)

    op.create_table(
        "lending_leads",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("referral", sa.String(length=32), nullable=False),
        sa.Column(
            "suggested_products",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open", "contacted", "closed", name="lead_status", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_applications.id"],
            name=op.f("fk_lending_leads_application_id_loan_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lending_leads_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_leads")),
    )
    with op.batch_alter_table("lending_leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lending_leads_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lending_leads_uscc"), ["uscc"], unique=False)

    op.create_table(
        "review_cases",
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "assigned",
                "approved",
                "declined",
                "returned",
                name="review_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "route_reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("resolution_reason", sa.String(length=500), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_applications.id"],
            name=op.f("fk_review_cases_application_id_loan_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_review_cases_decision_id_credit_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_review_cases_partner_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_cases")),
        sa.UniqueConstraint("application_id", name=op.f("uq_review_cases_application_id")),
    )
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_cases_partner_tenant_id"), ["partner_tenant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_cases_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_cases_status"))
        batch_op.drop_index(batch_op.f("ix_review_cases_partner_tenant_id"))

    op.drop_table("review_cases")
    with op.batch_alter_table("lending_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lending_leads_uscc"))
        batch_op.drop_index(batch_op.f("ix_lending_leads_tenant_id"))

    op.drop_table("lending_leads")
    with op.batch_alter_table("credit_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_decisions_uscc"))
        batch_op.drop_index(batch_op.f("ix_credit_decisions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_credit_decisions_application_id"))

    op.drop_table("credit_decisions")
    with op.batch_alter_table("loan_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_applications_uscc"))
        batch_op.drop_index(batch_op.f("ix_loan_applications_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_loan_applications_status"))
        batch_op.drop_index(batch_op.f("ix_loan_applications_customer_id"))
        batch_op.drop_index(batch_op.f("ix_loan_applications_contact_phone_bidx"))

    op.drop_table("loan_applications")
    with op.batch_alter_table("loan_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_offers_uscc"))
        batch_op.drop_index(batch_op.f("ix_loan_offers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_loan_offers_customer_id"))

    op.drop_table("loan_offers")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_tenant_id"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("credit_limit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_limit_events_limit_id"))

    op.drop_table("credit_limit_events")
    op.drop_table("scoring_models")
    with op.batch_alter_table("loan_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_products_code"))

    op.drop_table("loan_products")
    with op.batch_alter_table("fraud_blacklist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_blacklist_value"))

    op.drop_table("fraud_blacklist")
    op.drop_table("customer_credit_limits")
    op.drop_table("admission_rulesets")
