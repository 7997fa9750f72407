"""The stats read model takes a person's overdue test from the registry's own announcement
(registry.overdue.changed): the time of the last one applied, so a late redelivery changes nothing.

Revision ID: registry_0013
Revises: registry_0012
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "registry_0013"
down_revision = "registry_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stats_person") as batch:
        batch.add_column(sa.Column("overdue_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stats_person") as batch:
        batch.drop_column("overdue_at")
