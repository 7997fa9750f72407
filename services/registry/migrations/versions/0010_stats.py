"""The command office's read model: per-person, per-measure and per-lead state kept from events, and the
counters per place (and per place and day) that GET /stats/* sums by prefix range.

Revision ID: registry_0010
Revises: registry_0009
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "registry_0010"
down_revision = "registry_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stats_person",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("color", sa.String(length=6), nullable=False),
        sa.Column("overdue_since", sa.Date(), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("region_at", UTCDateTime(), nullable=False),
        sa.Column("color_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_stats_person")),
    )
    op.create_index("ix_stats_person_id_number_index", "stats_person", ["id_number_index"], unique=False)
    op.create_table(
        "stats_measure",
        sa.Column("measure_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("measure_id", name=op.f("pk_stats_measure")),
    )
    op.create_index("ix_stats_measure_person_id", "stats_measure", ["person_id"], unique=False)
    op.create_table(
        "stats_lead",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_stats_lead")),
    )
    op.create_table(
        "stats_positive",
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_stats_positive")),
    )
    op.create_table(
        "stats_count",
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "metric", name=op.f("pk_stats_count")),
    )
    op.create_table(
        "stats_daily",
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "on", "metric", name=op.f("pk_stats_daily")),
    )


def downgrade() -> None:
    op.drop_table("stats_daily")
    op.drop_table("stats_count")
    op.drop_table("stats_positive")
    op.drop_table("stats_lead")
    op.drop_index("ix_stats_measure_person_id", table_name="stats_measure")
    op.drop_table("stats_measure")
    op.drop_index("ix_stats_person_id_number_index", table_name="stats_person")
    op.drop_table("stats_person")
