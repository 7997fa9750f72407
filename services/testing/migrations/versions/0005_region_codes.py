"""Region codes down to the grid: the testing service's region columns hold codes of up to 15 digits.

Revision ID: testing_0005
"""

from cordon.migrate import widen_region_codes

revision = "testing_0005"
down_revision = "testing_0004"
branch_labels = None
depends_on = None

COLUMNS = {'person_ref': ('region_code',), 'test_schedule': ('region_code',)}


def upgrade() -> None:
    widen_region_codes(COLUMNS)


def downgrade() -> None:
    widen_region_codes(COLUMNS, to=6, was=15)
