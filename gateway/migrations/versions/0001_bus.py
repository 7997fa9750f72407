"""The bus tables: outbox, inbox, dead letters.

Revision ID: gateway_0001
"""

from cordon.bus.migrations import create_bus_tables_v1, drop_bus_tables_v1

revision = "gateway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_tables_v1()


def downgrade() -> None:
    drop_bus_tables_v1()
