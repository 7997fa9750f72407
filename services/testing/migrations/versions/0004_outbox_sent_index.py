"""The bus: an index on outbox.sent_at for the relay's prune.

Revision ID: testing_0004
"""

from cordon.bus.migrations import create_bus_sent_index_v2, drop_bus_sent_index_v2

revision = "testing_0004"
down_revision = "testing_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_sent_index_v2()


def downgrade() -> None:
    drop_bus_sent_index_v2()
