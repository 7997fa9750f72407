"""Partner keys carry scopes (travel_records, gate) and regions; existing keys keep the travel push.

Revision ID: gateway_0005
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import JSONType

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("scopes", JSONType, server_default=sa.text("""'["travel_records"]'"""), nullable=False))
        batch.add_column(sa.Column("regions", JSONType, server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("regions")
        batch.drop_column("scopes")
