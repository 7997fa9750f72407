"""Samples, tubes, results and corrections, proofs, schedules, and the person projection.

Revision ID: testing_0003
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "testing_0003"
down_revision = "testing_0002"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "person_ref",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("id_number_index", sa.String(64), nullable=False),
        sa.Column("id_number_masked", sa.String(18), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=True),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_ref")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_person_ref_id_number_index")),
    )
    op.create_index("ix_person_ref_phone_index", "person_ref", ["phone_index"])

    op.create_table(
        "sample",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("barcode", sa.String(64), nullable=False),
        sa.Column("id_number_index", sa.String(64), nullable=False),
        sa.Column("id_number_masked", sa.String(18), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("tube_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tested_at", UTCDateTime(), nullable=True),
        sa.Column("lab", sa.String(200), nullable=True),
        sa.Column("retest_due_by", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample")),
        sa.UniqueConstraint("barcode", name=op.f("uq_sample_barcode")),
    )
    op.create_index("ix_sample_id_number_index", "sample", ["id_number_index"])
    op.create_index("ix_sample_tube_id", "sample", ["tube_id"])
    op.create_index("ix_sample_person_id_collected_at", "sample", ["person_id", "collected_at", "id"])

    op.create_table(
        "tube",
        sa.Column("tube_id", sa.String(64), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tube_id", name=op.f("pk_tube")),
    )

    op.create_table(
        "test_result",
        sa.Column("id", _Seq, autoincrement=True, nullable=False),
        sa.Column("target_kind", sa.String(7), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("tested_at", UTCDateTime(), nullable=False),
        sa.Column("lab", sa.String(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("corrected_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_result")),
        sa.UniqueConstraint("target_kind", "target", name=op.f("uq_test_result_target_kind_target")),
    )

    op.create_table(
        "result_correction",
        sa.Column("id", _Seq, autoincrement=True, nullable=False),
        sa.Column("target_kind", sa.String(7), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("previous_result", sa.String(8), nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tested_at", UTCDateTime(), nullable=False),
        sa.Column("lab", sa.String(200), nullable=False),
        sa.Column("corrected_at", UTCDateTime(), nullable=False),
        sa.Column("corrected_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_correction")),
    )
    op.create_index("ix_result_correction_target", "result_correction", ["target_kind", "target"])

    op.create_table(
        "proof",
        sa.Column("id_number_index", sa.String(64), nullable=False),
        sa.Column("latest_negative_collected_at", UTCDateTime(), nullable=True),
        sa.Column("latest_negative_barcode", sa.String(64), nullable=True),
        sa.Column("latest_positive_collected_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_number_index", name=op.f("pk_proof")),
    )

    op.create_table(
        "test_schedule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("measure_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=True),
        sa.Column("fulfilled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_schedule")),
        sa.UniqueConstraint("measure_id", "due_on", name=op.f("uq_test_schedule_measure_id_due_on")),
    )
    op.create_index("ix_test_schedule_person_id_status", "test_schedule", ["person_id", "status", "due_on"])
    op.create_index("ix_test_schedule_status_due_on", "test_schedule", ["status", "due_on", "id"])

    op.create_table(
        "schedule_announcement",
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "kind", name=op.f("pk_schedule_announcement")),
    )


def downgrade() -> None:
    op.drop_table("schedule_announcement")
    op.drop_index("ix_test_schedule_status_due_on", table_name="test_schedule")
    op.drop_index("ix_test_schedule_person_id_status", table_name="test_schedule")
    op.drop_table("test_schedule")
    op.drop_table("proof")
    op.drop_index("ix_result_correction_target", table_name="result_correction")
    op.drop_table("result_correction")
    op.drop_table("test_result")
    op.drop_table("tube")
    op.drop_index("ix_sample_person_id_collected_at", table_name="sample")
    op.drop_index("ix_sample_tube_id", table_name="sample")
    op.drop_index("ix_sample_id_number_index", table_name="sample")
    op.drop_table("sample")
    op.drop_index("ix_person_ref_phone_index", table_name="person_ref")
    op.drop_table("person_ref")
