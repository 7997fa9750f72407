"""The places of the tree (place_ref, seeded with every shipped county): a gathering's venue must be one.

Revision ID: events_0006
Revises: events_0005
"""

from alembic import op

from cordon import divisions

revision = "events_0006"
down_revision = "events_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    divisions.create_place_ref()


def downgrade() -> None:
    op.drop_table("place_ref")
