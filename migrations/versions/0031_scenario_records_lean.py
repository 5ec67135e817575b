"""scenario: field classes once per data type and schema version, not on every record

The data-element classes (JR/T 0269 6.2.2) of a stream's fields move from a JSON document on
every ``scenario_records`` row to ``scenario_record_schemas`` (one row per data type and schema
version). Existing records' classes are carried over: per data type and schema version, those
of its most recently written record.

Revision ID: 0031_scenario_records_lean
Revises: 0030_merge
Create Date: 2026-11-28 20:00:00
"""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0031_scenario_records_lean"
down_revision: str | None = "0030_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    schemas = op.create_table(
        "scenario_record_schemas",
        sa.Column("data_type", sa.String(length=80), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("field_classes", _DOCUMENT, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_record_schemas")),
        sa.UniqueConstraint(
            "data_type",
            "schema_version",
            name=op.f("uq_scenario_record_schemas_data_type_schema_version"),
        ),
    )
    records = sa.table(
        "scenario_records",
        sa.column("data_type", sa.String()),
        sa.column("schema_version", sa.Integer()),
        sa.column("field_classes", sa.JSON()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    classes_text = sa.cast(records.c.field_classes, sa.Text())
    found = op.get_bind().execute(
        sa.select(
            records.c.data_type,
            records.c.schema_version,
            classes_text,
            sa.func.max(records.c.updated_at),
        ).group_by(records.c.data_type, records.c.schema_version, classes_text)
    )
    newest: dict[tuple[str, int], tuple[object, str]] = {}
    for data_type, version, text, written in found:
        key = (data_type, version)
        if key not in newest or str(written) > str(newest[key][0]):
            newest[key] = (written, text)
    now = datetime.now(UTC)
    if newest:
        op.bulk_insert(
            schemas,
            [
                {
                    "id": uuid.uuid4(),
                    "data_type": data_type,
                    "schema_version": version,
                    "field_classes": json.loads(text) if text else {},
                    "created_at": now,
                    "updated_at": now,
                }
                for (data_type, version), (_, text) in sorted(newest.items())
            ],
        )
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.drop_column("field_classes")


def downgrade() -> None:
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("field_classes", sa.JSON(), nullable=True))
    bind = op.get_bind()
    records = sa.table(
        "scenario_records",
        sa.column("data_type", sa.String()),
        sa.column("schema_version", sa.Integer()),
        sa.column("field_classes", sa.JSON()),
    )
    schemas = sa.table(
        "scenario_record_schemas",
        sa.column("data_type", sa.String()),
        sa.column("schema_version", sa.Integer()),
        sa.column("field_classes", _DOCUMENT),
    )
    found = bind.execute(
        sa.select(schemas.c.data_type, schemas.c.schema_version, schemas.c.field_classes)
    ).all()
    for data_type, version, classes in found:
        bind.execute(
            sa.update(records)
            .where(records.c.data_type == data_type, records.c.schema_version == version)
            .values(field_classes=classes)
        )
    bind.execute(
        sa.update(records).where(records.c.field_classes.is_(None)).values(field_classes={})
    )
    with op.batch_alter_table("scenario_records", schema=None) as batch_op:
        batch_op.alter_column("field_classes", existing_type=sa.JSON(), nullable=False)
    op.drop_table("scenario_record_schemas")
