"""person and staff projections, notifications, alerts, broadcasts

Revision ID: notify_0003
Revises: notify_0002

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from cordon.db import JSONType, UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'notify_0003'
down_revision: Union[str, Sequence[str], None] = 'notify_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('alert',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('facts', JSONType, nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('addressees', JSONType, nullable=False),
    sa.Column('primary_notification_id', sa.Uuid(), nullable=True),
    sa.Column('ack_due_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sa.UniqueConstraint('source', name=op.f('uq_alert_source'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_ack_due_at'), ['ack_due_at'], unique=False)

    op.create_table('broadcast',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('channels', JSONType, nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('last_region_code', sa.String(length=6), nullable=True),
    sa.Column('last_person_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('fanned_out_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast'))
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_status'), ['status'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('recipient_type', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('to_enc', sa.Text(), nullable=True),
    sa.Column('secret_enc', sa.Text(), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('collapsed_count', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Uuid(), nullable=True),
    sa.Column('broadcast_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('read_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('source', 'recipient', 'channel', name=op.f('uq_notification_source_recipient_channel'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_notification_broadcast_id_status', ['broadcast_id', 'status'], unique=False)
        batch_op.create_index('ix_notification_channel_created_at', ['channel', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_notification_kind_created_at', ['kind', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_person_id_created_at', ['person_id', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_phone_index_created_at', ['phone_index', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_recipient_created_at', ['recipient', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_status_channel_next_attempt_at', ['status', 'channel', 'next_attempt_at'], unique=False)

    op.create_table('notification_fold',
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'recipient', 'channel', name=op.f('pk_notification_fold'))
    )
    op.create_table('person_ref',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('id_number_index', sa.String(length=64), nullable=False),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('name_masked', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_ref'))
    )
    with op.batch_alter_table('person_ref', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_ref_id_number_index'), ['id_number_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_ref_phone_index'), ['phone_index'], unique=False)
        batch_op.create_index('ix_person_ref_region_code_person_id', ['region_code', 'person_id'], unique=False)

    op.create_table('staff_ref',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('regions', JSONType, nullable=False),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_staff_ref')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_ref_username'))
    )
    op.create_table('staff_region',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'user_id', name=op.f('pk_staff_region'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('staff_region')
    op.drop_table('staff_ref')
    with op.batch_alter_table('person_ref', schema=None) as batch_op:
        batch_op.drop_index('ix_person_ref_region_code_person_id')
        batch_op.drop_index(batch_op.f('ix_person_ref_phone_index'))
        batch_op.drop_index(batch_op.f('ix_person_ref_id_number_index'))

    op.drop_table('person_ref')
    op.drop_table('notification_fold')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_status_channel_next_attempt_at')
        batch_op.drop_index('ix_notification_recipient_created_at')
        batch_op.drop_index('ix_notification_phone_index_created_at')
        batch_op.drop_index('ix_notification_person_id_created_at')
        batch_op.drop_index('ix_notification_kind_created_at')
        batch_op.drop_index('ix_notification_created_at_id')
        batch_op.drop_index('ix_notification_channel_created_at')
        batch_op.drop_index('ix_notification_broadcast_id_status')
        batch_op.drop_index(batch_op.f('ix_notification_alert_id'))

    op.drop_table('notification')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_status'))

    op.drop_table('broadcast')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_ack_due_at'))

    op.drop_table('alert')
