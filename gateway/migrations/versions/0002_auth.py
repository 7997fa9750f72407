"""users partners sms codes

Revision ID: gateway_0002
Revises: gateway_0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from cordon.db import JSONType, UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'gateway_0002'
down_revision: Union[str, Sequence[str], None] = 'gateway_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('partner',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
    sa.UniqueConstraint('key_digest', name=op.f('uq_partner_key_digest'))
    )
    op.create_table('person_phone',
    sa.Column('phone_index', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('phone_index', name=op.f('pk_person_phone'))
    )
    op.create_table('sms_code',
    sa.Column('phone_index', sa.String(length=64), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=False),
    sa.Column('sent_in_window', sa.Integer(), nullable=False),
    sa.Column('window_started_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('phone_index', name=op.f('pk_sms_code'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('regions', JSONType, nullable=False),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('user_account')
    op.drop_table('sms_code')
    op.drop_table('person_phone')
    op.drop_table('partner')
