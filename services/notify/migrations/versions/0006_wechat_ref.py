"""WeChat openids of residents (from auth.wechat.bound): subscription messages instead of SMS.

Revision ID: notify_0006
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "notify_0006"
down_revision = "notify_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_ref",
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("openid_enc", sa.Text(), nullable=False),
        sa.Column("bound_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone_index", name=op.f("pk_wechat_ref")),
    )


def downgrade() -> None:
    op.drop_table("wechat_ref")
