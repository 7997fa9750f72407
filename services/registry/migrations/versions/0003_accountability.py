"""grid accountability

Revision ID: registry_0003
Revises: registry_0002

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from cordon.db import JSONType, UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'registry_0003'
down_revision: Union[str, Sequence[str], None] = 'registry_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('daily_count',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('count_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'count_on', 'kind', name=op.f('pk_daily_count'))
    )
    op.create_table('daily_report',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('report_on', sa.Date(), nullable=False),
    sa.Column('zero', sa.Boolean(), nullable=False),
    sa.Column('counts', JSONType, nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', UTCDateTime(), nullable=False),
    sa.Column('submitted_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'report_on', name=op.f('pk_daily_report'))
    )
    op.create_table('follow_up_slot',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('measure_id', sa.Uuid(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('slot', sa.String(length=20), nullable=False),
    sa.Column('ends_at', UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done_at', UTCDateTime(), nullable=True),
    sa.Column('follow_up_id', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_slot')),
    sa.UniqueConstraint('person_id', 'due_on', 'slot', name=op.f('uq_follow_up_slot_person_id_due_on_slot'))
    )
    with op.batch_alter_table('follow_up_slot', schema=None) as batch_op:
        batch_op.create_index('ix_follow_up_slot_region_code_status', ['region_code', 'status'], unique=False)
        batch_op.create_index('ix_follow_up_slot_status_ends_at', ['status', 'ends_at'], unique=False)

    op.create_table('report_notice',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('report_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'report_on', 'kind', name=op.f('pk_report_notice'))
    )
    op.create_table('roster',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('staff', JSONType, nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('region_code', name=op.f('pk_roster'))
    )
    op.create_table('responsible_staff',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('staff', JSONType, nullable=False),
    sa.Column('roster_region', sa.String(length=6), nullable=True),
    sa.Column('assigned_at', UTCDateTime(), nullable=False),
    sa.Column('assigned_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_responsible_staff_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_responsible_staff'))
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_at')

    op.drop_table('responsible_staff')
    op.drop_table('roster')
    op.drop_table('report_notice')
    with op.batch_alter_table('follow_up_slot', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_slot_status_ends_at')
        batch_op.drop_index('ix_follow_up_slot_region_code_status')

    op.drop_table('follow_up_slot')
    op.drop_table('daily_report')
    op.drop_table('daily_count')
