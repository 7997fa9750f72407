"""The place tree: region codes of up to 15 digits, the region table with every province, city and
county of China (cordon/data/divisions.csv), and person moves.

Revision ID: registry_0005
"""

import sqlalchemy as sa
from alembic import op

from cordon import divisions, regions
from cordon.db import UTCDateTime
from cordon.migrate import widen_region_codes

revision = "registry_0005"
down_revision = "registry_0004"
branch_labels = None
depends_on = None

COLUMNS = {
    "person": ("region_code",),
    "risk_area": ("region_code",),
    "travel_record": ("region_code",),
    "roster": ("region_code",),
    "responsible_staff": ("roster_region",),
    "follow_up_slot": ("region_code",),
    "daily_report": ("region_code",),
    "report_notice": ("region_code",),
    "daily_count": ("region_code",),
}


def upgrade() -> None:
    widen_region_codes(COLUMNS)
    region = op.create_table(
        "region",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("parent", sa.String(length=15), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    op.create_index("ix_region_parent_code", "region", ["parent", "code"], unique=False)
    rows = [
        {"code": code, "name": name, "level": regions.level(code), "parent": regions.parent(code)}
        for code, name in divisions.shipped()
    ]
    op.bulk_insert(region, rows)
    op.create_table(
        "person_move",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("from_region", sa.String(length=15), nullable=False),
        sa.Column("to_region", sa.String(length=15), nullable=False),
        sa.Column("moved_at", UTCDateTime(), nullable=False),
        sa.Column("moved_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_person_move_person_id_person"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_move")),
    )
    op.create_index("ix_person_move_person_id_id", "person_move", ["person_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_person_move_person_id_id", table_name="person_move")
    op.drop_table("person_move")
    op.drop_index("ix_region_parent_code", table_name="region")
    op.drop_table("region")
    widen_region_codes(COLUMNS, to=6, was=15)
