"""gatherings, check-ins, exposures, person projection

Revision ID: events_0003
Revises: events_0002
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import JSONType, UTCDateTime

revision = "events_0003"
down_revision = "events_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gathering",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("gathering_on", sa.Date(), nullable=False),
        sa.Column("expected_attendees", sa.Integer(), nullable=False),
        sa.Column("tables", sa.Integer(), nullable=True),
        sa.Column("prevention_plan", sa.Text(), nullable=True),
        sa.Column("emergency_plan", sa.Text(), nullable=True),
        sa.Column("requirement", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("warnings", JSONType, nullable=False),
        sa.Column("exposure", sa.Boolean(), nullable=False),
        sa.Column("checked_in", sa.Integer(), nullable=False),
        sa.Column("organizer_name", sa.String(length=100), nullable=False),
        sa.Column("organizer_phone_index", sa.String(length=64), nullable=False),
        sa.Column("organizer_phone_masked", sa.String(length=20), nullable=False),
        sa.Column("organizer_phone_enc", sa.Text(), nullable=False),
        sa.Column("organizer_subject", sa.String(length=100), nullable=False),
        sa.Column("filed_by_role", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=100), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gathering")),
    )
    with op.batch_alter_table("gathering", schema=None) as batch_op:
        batch_op.create_index("ix_gathering_organizer_phone_index_starts_at_id", ["organizer_phone_index", "starts_at", "id"], unique=False)
        batch_op.create_index("ix_gathering_organizer_subject_starts_at_id", ["organizer_subject", "starts_at", "id"], unique=False)
        batch_op.create_index("ix_gathering_region_code_starts_at_id", ["region_code", "starts_at", "id"], unique=False)
        batch_op.create_index("ix_gathering_status_region_code_starts_at", ["status", "region_code", "starts_at"], unique=False)

    op.create_table(
        "person_ref",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_ref")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_person_ref_id_number_index")),
    )
    with op.batch_alter_table("person_ref", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_ref_phone_index"), ["phone_index"], unique=False)

    op.create_table(
        "check_in",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("gathering_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=80), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("id_number_masked", sa.String(length=18), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=True),
        sa.Column("over_capacity", sa.Boolean(), nullable=False),
        sa.Column("checked_in_at", UTCDateTime(), nullable=False),
        sa.Column("checked_in_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["gathering_id"], ["gathering.id"], name=op.f("fk_check_in_gathering_id_gathering"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in")),
        sa.UniqueConstraint("gathering_id", "person_key", name=op.f("uq_check_in_gathering_id_person_key")),
        sa.UniqueConstraint("gathering_id", "seq", name=op.f("uq_check_in_gathering_id_seq")),
    )
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.create_index("ix_check_in_id_number_index_checked_in_at", ["id_number_index", "checked_in_at"], unique=False)
        batch_op.create_index("ix_check_in_phone_index_checked_in_at", ["phone_index", "checked_in_at"], unique=False)

    op.create_table(
        "exposure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("gathering_id", sa.Uuid(), nullable=False),
        sa.Column("positive_id_number_index", sa.String(length=64), nullable=False),
        sa.Column("positive_person_id", sa.Uuid(), nullable=True),
        sa.Column("sample_collected_at", UTCDateTime(), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["gathering_id"], ["gathering.id"], name=op.f("fk_exposure_gathering_id_gathering"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure")),
        sa.UniqueConstraint("gathering_id", "positive_id_number_index", name=op.f("uq_exposure_gathering_id_positive_id_number_index")),
    )


def downgrade() -> None:
    op.drop_table("exposure")
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.drop_index("ix_check_in_phone_index_checked_in_at")
        batch_op.drop_index("ix_check_in_id_number_index_checked_in_at")
    op.drop_table("check_in")
    with op.batch_alter_table("person_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_ref_phone_index"))
    op.drop_table("person_ref")
    with op.batch_alter_table("gathering", schema=None) as batch_op:
        batch_op.drop_index("ix_gathering_status_region_code_starts_at")
        batch_op.drop_index("ix_gathering_region_code_starts_at_id")
        batch_op.drop_index("ix_gathering_organizer_subject_starts_at_id")
        batch_op.drop_index("ix_gathering_organizer_phone_index_starts_at_id")
    op.drop_table("gathering")
