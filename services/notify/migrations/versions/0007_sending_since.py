"""Notifications record a provider call before it is made (sending_since), so a restart never doubles one.

Revision ID: notify_0007
Revises: notify_0006
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "notify_0007"
down_revision = "notify_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("sending_since", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("sending_since")
