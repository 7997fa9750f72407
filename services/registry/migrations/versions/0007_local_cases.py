"""Risk areas mark a county or province that reported local cases (本土病例), whatever its level.

Revision ID: registry_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0007"
down_revision = "registry_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_area") as batch:
        batch.add_column(sa.Column("local_cases", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("risk_area") as batch:
        batch.drop_column("local_cases")
