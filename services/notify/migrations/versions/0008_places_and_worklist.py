"""Place names for texts to staff (place_ref, seeded with every shipped county), the person's encrypted name,
folded notices that keep their person, and the worklist (work_item).

Revision ID: notify_0008
Revises: notify_0007
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from cordon import divisions
from cordon.db import UTCDateTime

revision = "notify_0008"
down_revision = "notify_0007"
branch_labels = None
depends_on = None

def upgrade() -> None:
    divisions.create_place_ref()
    with op.batch_alter_table("person_ref") as batch:
        batch.add_column(sa.Column("name_enc", sa.Text(), nullable=True))
    with op.batch_alter_table("notification_fold") as batch:
        batch.add_column(sa.Column("person_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("region_code", sa.String(length=15), nullable=True))
    op.create_index("ix_notification_fold_notification_id_created_at", "notification_fold", ["notification_id", "created_at"])
    op.create_table(
        "work_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("measure_id", sa.Uuid(), nullable=True),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("shown_from", UTCDateTime(), nullable=False),
        sa.Column("shown_until", UTCDateTime(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_item")),
    )
    op.create_index("ix_work_item_open_region_code_due_at", "work_item", ["open", "region_code", "due_at", "id"])
    op.create_index("ix_work_item_open_due_at_id", "work_item", ["open", "due_at", "id"])
    op.create_index("ix_work_item_updated_at", "work_item", ["updated_at"])
    op.create_index("ix_work_item_person_id", "work_item", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_work_item_person_id", table_name="work_item")
    op.drop_index("ix_work_item_updated_at", table_name="work_item")
    op.drop_index("ix_work_item_open_due_at_id", table_name="work_item")
    op.drop_index("ix_work_item_open_region_code_due_at", table_name="work_item")
    op.drop_table("work_item")
    op.drop_index("ix_notification_fold_notification_id_created_at", table_name="notification_fold")
    with op.batch_alter_table("notification_fold") as batch:
        batch.drop_column("region_code")
        batch.drop_column("person_id")
    with op.batch_alter_table("person_ref") as batch:
        batch.drop_column("name_enc")
    op.drop_table("place_ref")
