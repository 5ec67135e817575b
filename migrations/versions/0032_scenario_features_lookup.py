"""scenario: a covering index for reading enterprises' features in batches

``latest_values_many`` (renewal pre-assessment, batch decisions) reads uscc, name, version,
source, kind, text and data date of every feature of a few hundred enterprises, ordered by
enterprise and name. An index holding exactly those columns in that order answers it without
touching the table's rows (which also carry the source-record lists) and without sorting. It
replaces the plain index on ``uscc``, whose lookups it serves as well.

Revision ID: 0032_scenario_features_lookup
Revises: 0031_scenario_records_lean
Create Date: 2026-11-28 21:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032_scenario_features_lookup"
down_revision: str | None = "0031_scenario_records_lean"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ["uscc", "name", "version", "data_source", "value_kind", "value_text", "data_as_of"]


def upgrade() -> None:
    with op.batch_alter_table("scenario_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_features_uscc"))
        batch_op.create_index("ix_scenario_features_lookup", _COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scenario_features", schema=None) as batch_op:
        batch_op.drop_index("ix_scenario_features_lookup")
        batch_op.create_index(batch_op.f("ix_scenario_features_uscc"), ["uscc"], unique=False)
