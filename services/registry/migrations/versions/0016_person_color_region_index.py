"""A colour within a place (?health_code=red&region_code=<village>): person by (health_color, region_code, id).

Without it the list either walks every red code of the city in id order keeping those of the place, or reads
every person of the place and keeps the red ones: fine for a county of many, growing with the place's people
for a small place with few. With it the place's own red codes are read (bench/README.md, person lists).

Revision ID: registry_0016
Revises: registry_0015
"""

from alembic import op

revision = "registry_0016"
down_revision = "registry_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_person_health_color_region_code_id", "person", ["health_color", "region_code", "id"])


def downgrade() -> None:
    op.drop_index("ix_person_health_color_region_code_id", table_name="person")
