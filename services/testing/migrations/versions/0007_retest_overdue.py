"""A pool-positive sample whose single-tube retest was not taken in time is told once: sample.retest_overdue_at.

Revision ID: testing_0007
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "testing_0007"
down_revision = "testing_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.add_column(sa.Column("retest_overdue_at", UTCDateTime(), nullable=True))
    op.create_index("ix_sample_retest_due_by", "sample", ["retest_due_by"])


def downgrade() -> None:
    op.drop_index("ix_sample_retest_due_by", table_name="sample")
    with op.batch_alter_table("sample") as batch:
        batch.drop_column("retest_overdue_at")
