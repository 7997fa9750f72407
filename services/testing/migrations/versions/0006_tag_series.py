"""Recurring tests by tag (tag_series) and, on each scheduled test, its measure's kind or its tag.

Revision ID: testing_0006
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "testing_0006"
down_revision = "testing_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_series",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("series_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("since_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "tag", name=op.f("pk_tag_series")),
        sa.UniqueConstraint("series_id", name=op.f("uq_tag_series_series_id")),
    )
    op.create_index("ix_tag_series_active", "tag_series", ["active", "person_id"])
    with op.batch_alter_table("test_schedule") as batch:
        batch.add_column(sa.Column("measure_kind", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("tag", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("test_schedule") as batch:
        batch.drop_column("tag")
        batch.drop_column("measure_kind")
    op.drop_index("ix_tag_series_active", table_name="tag_series")
    op.drop_table("tag_series")
