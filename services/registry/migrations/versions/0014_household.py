"""A household linked explicitly (户号): person.household, people of one county with the same key live together.

Revision ID: registry_0014
Revises: registry_0013
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0014"
down_revision = "registry_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("household", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_person_household"), "person", ["household"])


def downgrade() -> None:
    op.drop_index(op.f("ix_person_household"), table_name="person")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("household")
