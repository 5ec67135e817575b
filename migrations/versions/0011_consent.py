"""consent: SME customers, one-time codes, customer sessions, sandbox inbox, consents

Revision ID: 0011_consent
Revises: 0003_partner_events
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_consent"
down_revision: str | None = "0003_partner_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=120), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
    )
    op.create_table(
        "sandbox_inbox",
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_masked", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_inbox")),
    )
    with op.batch_alter_table("sandbox_inbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_inbox_recipient_id"), ["recipient_id"], unique=False
        )

    op.create_table(
        "customer_users",
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "legal_representative",
                "authorised_staff",
                name="customer_role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("active", "disabled", name="customer_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name_enc", sa.String(length=512), nullable=True),
        sa.Column("phone_enc", sa.String(length=512), nullable=True),
        sa.Column("phone_bidx", sa.String(length=64), nullable=True),
        sa.Column("id_number_enc", sa.String(length=512), nullable=True),
        sa.Column("id_number_bidx", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_customer_users_enterprise_id_enterprises"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_users")),
    )
    with op.batch_alter_table("customer_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_users_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_users_id_number_bidx"), ["id_number_bidx"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_users_phone_bidx"), ["phone_bidx"], unique=True
        )

    op.create_table(
        "consents",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=False),
        sa.Column("customer_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "awaiting_authorisation",
                "authorised",
                "revoked",
                "expired",
                "rejected",
                name="consent_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("data_items", sa.JSON(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("uses_per_day", sa.Integer(), nullable=False),
        sa.Column("authorise_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_user_id"],
            ["customer_users.id"],
            name=op.f("fk_consents_customer_user_id_customer_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_consents_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consents_customer_user_id"), ["customer_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consents_enterprise_uscc"), ["enterprise_uscc"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_consents_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_valid_until"), ["valid_until"], unique=False)

    op.create_table(
        "customer_one_time_codes",
        sa.Column("customer_user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_user_id"],
            ["customer_users.id"],
            name=op.f("fk_customer_one_time_codes_customer_user_id_customer_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_one_time_codes")),
    )
    with op.batch_alter_table("customer_one_time_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_one_time_codes_customer_user_id"),
            ["customer_user_id"],
            unique=False,
        )

    op.create_table(
        "consent_history",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
            name=op.f("fk_consent_history_consent_id_consents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_consent_history_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_history")),
    )
    with op.batch_alter_table("consent_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_history_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_history_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "consent_receipts",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column(
            "event",
            sa.Enum(
                "granted",
                "amended",
                "revoked",
                "expired",
                name="consent_receipt_event",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
            name=op.f("fk_consent_receipts_consent_id_consents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_consent_receipts_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_receipts")),
    )
    with op.batch_alter_table("consent_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_receipts_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_receipts_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "customer_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "authorize", "centre", name="customer_session_kind", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("customer_user_id", sa.Uuid(), nullable=True),
        sa.Column("one_time_code_id", sa.Uuid(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_user_id"],
            ["customer_users.id"],
            name=op.f("fk_customer_sessions_customer_user_id_customer_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["one_time_code_id"],
            ["customer_one_time_codes.id"],
            name=op.f("fk_customer_sessions_one_time_code_id_customer_one_time_codes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_sessions_token_hash")),
    )
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_sessions_customer_user_id"), ["customer_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_sessions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_customer_sessions_customer_user_id"))

    op.drop_table("customer_sessions")
    with op.batch_alter_table("consent_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_receipts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_consent_receipts_consent_id"))

    op.drop_table("consent_receipts")
    with op.batch_alter_table("consent_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_history_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_consent_history_consent_id"))

    op.drop_table("consent_history")
    with op.batch_alter_table("customer_one_time_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_one_time_codes_customer_user_id"))

    op.drop_table("customer_one_time_codes")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_valid_until"))
        batch_op.drop_index(batch_op.f("ix_consents_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_consents_status"))
        batch_op.drop_index(batch_op.f("ix_consents_enterprise_uscc"))
        batch_op.drop_index(batch_op.f("ix_consents_customer_user_id"))
        batch_op.drop_index(batch_op.f("ix_consents_client_id"))

    op.drop_table("consents")
    with op.batch_alter_table("customer_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_users_phone_bidx"))
        batch_op.drop_index(batch_op.f("ix_customer_users_id_number_bidx"))
        batch_op.drop_index(batch_op.f("ix_customer_users_enterprise_id"))

    op.drop_table("customer_users")
    with op.batch_alter_table("sandbox_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_inbox_recipient_id"))

    op.drop_table("sandbox_inbox")
    op.drop_table("enterprises")
