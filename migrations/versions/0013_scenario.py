"""Scenario connectors: instances, sync runs, cursors, quality, records, features, last-good.

Revision ID: 0013_scenario
Revises: 0003_partner_events
Create Date: 2026-11-28 14:21:03.477120
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_scenario"
down_revision: str | None = "0003_partner_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scenario_features",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("data_source", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value_kind", sa.String(length=10), nullable=False),
        sa.Column("value_text", sa.String(length=64), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("data_as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "source_records",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_features")),
        sa.UniqueConstraint(
            "uscc", "name", "version", name=op.f("uq_scenario_features_uscc_name_version")
        ),
    )
    with op.batch_alter_table("scenario_features", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_features_uscc"), ["uscc"], unique=False)
    op.create_table(
        "scenario_last_good",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_last_good")),
        sa.UniqueConstraint("key", name=op.f("uq_scenario_last_good_key")),
    )
    with op.batch_alter_table("scenario_last_good", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_last_good_uscc"), ["uscc"], unique=False)
    op.create_table(
        "scenario_connector_instances",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("connector", sa.String(length=40), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets_enc", sa.Text(), nullable=True),
        sa.Column("secret_fields", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "disabled", name="instance_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("is_sandbox", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scenario_connector_instances_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_connector_instances")),
        sa.UniqueConstraint(
            "tenant_id", "name", name=op.f("uq_scenario_connector_instances_tenant_id_name")
        ),
    )
    with op.batch_alter_table("scenario_connector_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_connector_instances_connector"), ["connector"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_connector_instances_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "scenario_records",
        sa.Column("natural_key", sa.String(length=320), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("data_source", sa.String(length=40), nullable=False),
        sa.Column("data_type", sa.String(length=80), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("data_enc", sa.Text(), nullable=True),
        sa.Column("field_classes", sa.JSON(), nullable=False),
        sa.Column("collection_channel", sa.String(length=20), nullable=False),
        sa.Column("collection_object", sa.String(length=18), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot_taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("connector_version", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("access", sa.String(length=20), nullable=False),
        sa.Column("volatility", sa.String(length=20), nullable=False),
        sa.Column("shape", sa.String(length=20), nullable=False),
        sa.Column("collected_by_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collected_by_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scenario_records_collected_by_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_records")),
        sa.UniqueConstraint("natural_key", name=op.f("uq_scenario_records_natural_key")),
    )
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_records_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_records_retain_until"), ["retain_until"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_records_uscc_data_source"),
            ["uscc", "data_source"],
            unique=False,
        )
    op.create_table(
        "scenario_sync_cursors",
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("stream", sa.String(length=80), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("cursor", sa.String(length=500), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["scenario_connector_instances.id"],
            name=op.f("fk_scenario_sync_cursors_instance_id_scenario_connector_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scenario_sync_cursors_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_sync_cursors")),
        sa.UniqueConstraint(
            "instance_id",
            "stream",
            "uscc",
            name=op.f("uq_scenario_sync_cursors_instance_id_stream_uscc"),
        ),
    )
    with op.batch_alter_table("scenario_sync_cursors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_sync_cursors_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "scenario_sync_runs",
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("connector", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("streams", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "running",
                "succeeded",
                "partial",
                "degraded",
                "stopped",
                "failed",
                name="sync_outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("records_in", sa.Integer(), nullable=False),
        sa.Column("records_inserted", sa.Integer(), nullable=False),
        sa.Column("records_updated", sa.Integer(), nullable=False),
        sa.Column("records_unchanged", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("stale_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staleness_s", sa.Integer(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["scenario_connector_instances.id"],
            name=op.f("fk_scenario_sync_runs_instance_id_scenario_connector_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scenario_sync_runs_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_sync_runs")),
    )
    with op.batch_alter_table("scenario_sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_sync_runs_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_sync_runs_instance_id_started_at"),
            ["instance_id", "started_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_sync_runs_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_scenario_sync_runs_uscc"), ["uscc"], unique=False)
    op.create_table(
        "scenario_quality_reports",
        sa.Column("sync_run_id", sa.Uuid(), nullable=False),
        sa.Column("stream", sa.String(length=80), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("duplicates_removed", sa.Integer(), nullable=False),
        sa.Column("superseded", sa.Integer(), nullable=False),
        sa.Column("rejection_reasons", sa.JSON(), nullable=False),
        sa.Column("rejection_samples", sa.JSON(), nullable=False),
        sa.Column("null_per_mille", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["scenario_sync_runs.id"],
            name=op.f("fk_scenario_quality_reports_sync_run_id_scenario_sync_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scenario_quality_reports_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_quality_reports")),
    )
    with op.batch_alter_table("scenario_quality_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_quality_reports_sync_run_id"), ["sync_run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_quality_reports_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scenario_quality_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_quality_reports_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_quality_reports_sync_run_id"))
    op.drop_table("scenario_quality_reports")
    with op.batch_alter_table("scenario_sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_sync_runs_uscc"))
        batch_op.drop_index(batch_op.f("ix_scenario_sync_runs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_sync_runs_instance_id_started_at"))
        batch_op.drop_index(batch_op.f("ix_scenario_sync_runs_consent_id"))
    op.drop_table("scenario_sync_runs")
    with op.batch_alter_table("scenario_sync_cursors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_sync_cursors_tenant_id"))
    op.drop_table("scenario_sync_cursors")
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_records_uscc_data_source"))
        batch_op.drop_index(batch_op.f("ix_scenario_records_retain_until"))
        batch_op.drop_index(batch_op.f("ix_scenario_records_consent_id"))
    op.drop_table("scenario_records")
    with op.batch_alter_table("scenario_connector_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_connector_instances_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_connector_instances_connector"))
    op.drop_table("scenario_connector_instances")
    with op.batch_alter_table("scenario_last_good", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_last_good_uscc"))
    op.drop_table("scenario_last_good")
    with op.batch_alter_table("scenario_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_features_uscc"))
    op.drop_table("scenario_features")
