"""onboarding: verification, sandbox inbox, invitations, second factor, cooperation workflow,
production-access requests, page views

Revision ID: 0016_onboarding
Revises: 0003_partner_events
Create Date: 2026-11-28 14:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_onboarding"
down_revision: str | None = "0003_partner_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_messages",
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_messages")),
    )
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_messages_recipient"), ["recipient"], unique=False
        )

    op.create_table(
        "cooperation_cases",
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "changes_requested",
                "approved",
                "rejected",
                "active",
                name="cooperation_case_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("contact_name", sa.String(length=120), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone_enc", sa.String(length=512), nullable=True),
        sa.Column("technical_plan", sa.Text(), nullable=False),
        sa.Column("data_retention_terms", sa.Text(), nullable=False),
        sa.Column("liability_terms", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("risk_checklist", sa.JSON(), nullable=False),
        sa.Column(
            "risk_decision",
            sa.Enum(
                "approve",
                "request_changes",
                "reject",
                name="review_decision",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("risk_reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("risk_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("compliance_checklist", sa.JSON(), nullable=False),
        sa.Column(
            "compliance_decision",
            sa.Enum(
                "approve",
                "request_changes",
                "reject",
                name="review_decision",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("compliance_reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("compliance_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agreement_text", sa.Text(), nullable=True),
        sa.Column("agreement_sha256", sa.String(length=64), nullable=True),
        sa.Column("agreement_generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cooperation_cases_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_cases")),
    )
    with op.batch_alter_table("cooperation_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cooperation_cases_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "page_views",
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("surface", sa.String(length=64), nullable=False),
        sa.Column("visitor", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_page_views_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_views")),
    )
    with op.batch_alter_table("page_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_views_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_page_views_tenant_id_viewed_at", ["tenant_id", "viewed_at"], unique=False
        )

    op.create_table(
        "cooperation_comments",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("author_member_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cooperation_cases.id"],
            name=op.f("fk_cooperation_comments_case_id_cooperation_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cooperation_comments_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_comments")),
    )
    with op.batch_alter_table("cooperation_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cooperation_comments_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cooperation_comments_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "onboarding_invitations",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["members.id"],
            name=op.f("fk_onboarding_invitations_invited_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_onboarding_invitations_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_onboarding_invitations_token_hash")),
    )
    with op.batch_alter_table("onboarding_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_onboarding_invitations_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "onboarding_second_factors",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("secret_enc", sa.String(length=512), nullable=True),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_onboarding_second_factors_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_onboarding_second_factors_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_second_factors")),
        sa.UniqueConstraint("member_id", name=op.f("uq_onboarding_second_factors_member_id")),
    )
    with op.batch_alter_table("onboarding_second_factors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_onboarding_second_factors_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "onboarding_sign_in_challenges",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_onboarding_sign_in_challenges_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_onboarding_sign_in_challenges_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_sign_in_challenges")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_onboarding_sign_in_challenges_token_hash")),
    )
    op.create_table(
        "onboarding_verifications",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_onboarding_verifications_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_onboarding_verifications_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_verifications")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_onboarding_verifications_token_hash")),
    )
    with op.batch_alter_table("onboarding_verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_onboarding_verifications_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "production_access_requests",
        sa.Column("oauth_client_pk", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("expected_monthly_calls", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="production_request_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["oauth_client_pk"],
            ["oauth_clients.id"],
            name=op.f("fk_production_access_requests_oauth_client_pk_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_production_access_requests_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_access_requests")),
    )
    with op.batch_alter_table("production_access_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_production_access_requests_oauth_client_pk"),
            ["oauth_client_pk"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_production_access_requests_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_production_access_requests_tenant_id"), table_name="production_access_requests"
    )
    op.drop_index(
        op.f("ix_production_access_requests_oauth_client_pk"),
        table_name="production_access_requests",
    )
    op.drop_table("production_access_requests")
    op.drop_index(
        op.f("ix_onboarding_verifications_tenant_id"), table_name="onboarding_verifications"
    )
    op.drop_table("onboarding_verifications")
    op.drop_table("onboarding_sign_in_challenges")
    op.drop_index(
        op.f("ix_onboarding_second_factors_tenant_id"), table_name="onboarding_second_factors"
    )
    op.drop_table("onboarding_second_factors")
    op.drop_index(op.f("ix_onboarding_invitations_tenant_id"), table_name="onboarding_invitations")
    op.drop_table("onboarding_invitations")
    op.drop_index(op.f("ix_cooperation_comments_tenant_id"), table_name="cooperation_comments")
    op.drop_index(op.f("ix_cooperation_comments_case_id"), table_name="cooperation_comments")
    op.drop_table("cooperation_comments")
    op.drop_index("ix_page_views_tenant_id_viewed_at", table_name="page_views")
    op.drop_index(op.f("ix_page_views_tenant_id"), table_name="page_views")
    op.drop_table("page_views")
    op.drop_index(op.f("ix_cooperation_cases_tenant_id"), table_name="cooperation_cases")
    op.drop_table("cooperation_cases")
    op.drop_index(op.f("ix_sandbox_messages_recipient"), table_name="sandbox_messages")
    op.drop_table("sandbox_messages")
