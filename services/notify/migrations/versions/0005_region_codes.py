"""Region codes down to the grid: the notify service's region columns hold codes of up to 15 digits.

Revision ID: notify_0005
"""

from cordon.migrate import widen_region_codes

revision = "notify_0005"
down_revision = "notify_0004"
branch_labels = None
depends_on = None

COLUMNS = {'person_ref': ('region_code',), 'staff_region': ('region_code',), 'notification': ('region_code',), 'alert': ('region_code',), 'broadcast': ('region_code', 'last_region_code')}


def upgrade() -> None:
    widen_region_codes(COLUMNS)


def downgrade() -> None:
    widen_region_codes(COLUMNS, to=6, was=15)
