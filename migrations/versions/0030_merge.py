"""merge the session-2 domain revisions (consent/oauth shared state, scenario data keys, lending
re-check, servicing PDF and one-time codes) into one head

Revision ID: 0030_merge
Revises: 0021_consent_oauth_shared, 0023_scenario_data_keys, 0024_lending_recheck,
    0025_servicing_pdf_otp
Create Date: 2026-11-28 17:30:00
"""

from collections.abc import Sequence

revision: str = "0030_merge"
down_revision: str | Sequence[str] | None = (
    "0021_consent_oauth_shared",
    "0023_scenario_data_keys",
    "0024_lending_recheck",
    "0025_servicing_pdf_otp",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
