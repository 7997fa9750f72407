"""The audit entry's detail: what an export selected (its filter) and how many rows it sent.

Revision ID: registry_0011
Revises: registry_0010
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import JSONType

revision = "registry_0011"
down_revision = "registry_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("detail", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("detail")
