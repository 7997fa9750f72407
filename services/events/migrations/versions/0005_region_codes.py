"""Region codes down to the grid: the gatherings service's region columns hold codes of up to 15 digits.

Revision ID: events_0005
"""

from cordon.migrate import widen_region_codes

revision = "events_0005"
down_revision = "events_0004"
branch_labels = None
depends_on = None

COLUMNS = {'gathering': ('region_code',), 'person_ref': ('region_code',)}


def upgrade() -> None:
    widen_region_codes(COLUMNS)


def downgrade() -> None:
    widen_region_codes(COLUMNS, to=6, was=15)
