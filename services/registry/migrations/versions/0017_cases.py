"""Cases (确诊/无症状, discharge, withdrawal), a person's samples for release tests, and measures whose release is
blocked by a missing negative.

Revision ID: registry_0017
Revises: registry_0016
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "registry_0017"
down_revision = "registry_0016"
branch_labels = None
depends_on = None

BLOCKED = sa.text("release_blocked IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "case_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("classification", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.Column("hospital", sa.String(length=200), nullable=True),
        sa.Column("positive_at", UTCDateTime(), nullable=True),
        sa.Column("discharged_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_case_record_person_id_person"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_record")),
    )
    op.create_index("ix_case_record_person_id_created_at", "case_record", ["person_id", "created_at"], unique=False)
    op.create_table(
        "person_sample",
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_person_sample")),
    )
    op.create_index("ix_person_sample_person_id_collected_at", "person_sample", ["person_id", "collected_at"], unique=False)
    with op.batch_alter_table("measure") as batch:
        batch.add_column(sa.Column("release_blocked", sa.String(length=40), nullable=True))
    op.create_index("ix_measure_release_blocked", "measure", ["person_id"], unique=False,
                    postgresql_where=BLOCKED, sqlite_where=BLOCKED)


def downgrade() -> None:
    op.drop_index("ix_measure_release_blocked", table_name="measure")
    with op.batch_alter_table("measure") as batch:
        batch.drop_column("release_blocked")
    op.drop_index("ix_person_sample_person_id_collected_at", table_name="person_sample")
    op.drop_table("person_sample")
    op.drop_index("ix_case_record_person_id_created_at", table_name="case_record")
    op.drop_table("case_record")
