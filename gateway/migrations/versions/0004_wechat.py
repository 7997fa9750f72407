"""WeChat mini-program sign-in: openid bindings and used login codes.

Revision ID: gateway_0004
"""

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_binding",
        sa.Column("openid", sa.String(length=128), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("bound_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_wechat_binding")),
        sa.UniqueConstraint("phone_index", name=op.f("uq_wechat_binding_phone_index")),
    )
    op.create_table(
        "wechat_code",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_wechat_code")),
    )
    op.create_index(op.f("ix_wechat_code_used_at"), "wechat_code", ["used_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wechat_code_used_at"), table_name="wechat_code")
    op.drop_table("wechat_code")
    op.drop_table("wechat_binding")
