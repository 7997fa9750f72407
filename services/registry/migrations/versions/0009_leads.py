"""Big-data leads (大数据推送排查), the lines of imported lists, and the staff a lead may be assigned to.

Revision ID: registry_0009
Revises: registry_0008
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import JSONType, UTCDateTime

revision = "registry_0009"
down_revision = "registry_0008"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
DUE = sa.text("status = 'open' AND overdue_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "lead",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("match_key", sa.String(length=80), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_masked", sa.String(length=18), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reasons", JSONType, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("overdue_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
    )
    op.create_index("uq_lead_open_match_key", "lead", ["match_key"], unique=True, postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_lead_region_code_created_at", "lead", ["region_code", "created_at"], unique=False)
    op.create_index("ix_lead_status_created_at", "lead", ["status", "created_at"], unique=False)
    op.create_index("ix_lead_due", "lead", ["due_at"], unique=False, postgresql_where=DUE, sqlite_where=DUE)
    op.create_index("ix_lead_phone_index", "lead", ["phone_index"], unique=False)
    op.create_index("ix_lead_id_number_index", "lead", ["id_number_index"], unique=False)
    op.create_table(
        "lead_import_line",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_lead_import_line")),
    )
    op.create_table(
        "staff_ref",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("regions", JSONType, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_ref")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_ref_username")),
    )


def downgrade() -> None:
    op.drop_table("staff_ref")
    op.drop_table("lead_import_line")
    for name in ("ix_lead_id_number_index", "ix_lead_phone_index", "ix_lead_due", "ix_lead_status_created_at",
                 "ix_lead_region_code_created_at", "uq_lead_open_match_key"):
        op.drop_index(name, table_name="lead")
    op.drop_table("lead")
