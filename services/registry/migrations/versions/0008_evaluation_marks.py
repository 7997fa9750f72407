"""Evaluation marks on travel records (pending ones swept by the clockwork); results awaiting their person.

Revision ID: registry_0008
Revises: registry_0007
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "registry_0008"
down_revision = "registry_0007"
branch_labels = None
depends_on = None

PENDING = sa.text("evaluated_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("travel_record") as batch:
        batch.add_column(sa.Column("evaluated_at", UTCDateTime(), nullable=True))
    # Records without a person have nothing to evaluate until a registration claims them (and evaluates them
    # in its own transaction). Matched records stay pending: the clockwork evaluates their people once more,
    # which repairs any evaluation an earlier crash lost (evaluation is idempotent).
    op.execute("UPDATE travel_record SET evaluated_at = created_at WHERE person_id IS NULL")
    op.create_index(
        "ix_travel_record_pending", "travel_record", ["partner_id", "seq"], unique=False,
        postgresql_where=PENDING, sqlite_where=PENDING,
    )
    op.create_table(
        "waiting_result",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
        sa.Column("retest_due_by", UTCDateTime(), nullable=True),
        sa.Column("correction", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_waiting_result")),
    )
    op.create_index(op.f("ix_waiting_result_id_number_index"), "waiting_result", ["id_number_index"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_waiting_result_id_number_index"), table_name="waiting_result")
    op.drop_table("waiting_result")
    op.drop_index("ix_travel_record_pending", table_name="travel_record")
    with op.batch_alter_table("travel_record") as batch:
        batch.drop_column("evaluated_at")
