"""The bus: an index on outbox.sent_at for the relay's prune.

Revision ID: notify_0004
"""

from cordon.bus.migrations import create_bus_sent_index_v2, drop_bus_sent_index_v2

revision = "notify_0004"
down_revision = "notify_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_sent_index_v2()


def downgrade() -> None:
    drop_bus_sent_index_v2()
