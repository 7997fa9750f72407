"""The copy of the active policy, kept from registry.policy.changed.

Revision ID: testing_0002
"""

from cordon.policy.replica import create_table_v1, drop_table_v1

revision = "testing_0002"
down_revision = "testing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table_v1()


def downgrade() -> None:
    drop_table_v1()
