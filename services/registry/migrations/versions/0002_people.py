"""people, travel, measures, policy, audit

Revision ID: registry_0002
Revises: registry_0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from cordon.db import JSONType, UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'registry_0002'
down_revision: Union[str, Sequence[str], None] = 'registry_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index('ix_audit_actor_at', ['actor', 'at'], unique=False)
        batch_op.create_index('ix_audit_entity_entity_id', ['entity', 'entity_id'], unique=False)

    op.create_table('exposure',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('exposed_on', sa.Date(), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exposure')),
    sa.UniqueConstraint('rule', 'key', 'subject', name=op.f('uq_exposure_rule_key_subject'))
    )
    with op.batch_alter_table('exposure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exposure_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exposure_subject'), ['subject'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('id_number_index', sa.String(length=64), nullable=False),
    sa.Column('id_number_enc', sa.Text(), nullable=False),
    sa.Column('id_number_masked', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('tags', JSONType, nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('is_case', sa.Boolean(), nullable=False),
    sa.Column('positive_at', UTCDateTime(), nullable=True),
    sa.Column('pool_positive_due_by', UTCDateTime(), nullable=True),
    sa.Column('overdue_since', sa.Date(), nullable=True),
    sa.Column('fever_celsius', sa.Float(), nullable=True),
    sa.Column('health_color', sa.String(length=6), nullable=False),
    sa.Column('health_reasons', JSONType, nullable=False),
    sa.Column('health_updated_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('id_number_index', name=op.f('uq_person_id_number_index'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_health_color_id', ['health_color', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_phone_index'), ['phone_index'], unique=False)
        batch_op.create_index('ix_person_region_code_id', ['region_code', 'id'], unique=False)

    op.create_table('policy_version',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('document', JSONType, nullable=False),
    sa.Column('source_yaml', sa.Text(), nullable=True),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.Column('changed_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_policy_version'))
    )
    op.create_table('risk_area',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('level', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('effective_from', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('evaluated_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('region_code', name=op.f('pk_risk_area'))
    )
    op.create_table('served_trigger',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('trigger', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('measure_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'trigger', 'kind', name=op.f('pk_served_trigger'))
    )
    op.create_table('travel_record',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=128), nullable=False),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('id_number_index', sa.String(length=64), nullable=True),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('first_seen', sa.Date(), nullable=False),
    sa.Column('last_seen', sa.Date(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_travel_record')),
    sa.UniqueConstraint('partner_id', 'record_id', name=op.f('uq_travel_record_partner_id_record_id'))
    )
    with op.batch_alter_table('travel_record', schema=None) as batch_op:
        batch_op.create_index('ix_travel_record_id_number_index', ['id_number_index'], unique=False)
        batch_op.create_index('ix_travel_record_person_id_last_seen', ['person_id', 'last_seen'], unique=False)
        batch_op.create_index('ix_travel_record_phone_index', ['phone_index'], unique=False)
        batch_op.create_index('ix_travel_record_region_code_last_seen', ['region_code', 'last_seen'], unique=False)

    op.create_table('measure',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('test_days', JSONType, nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('released_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_measure_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure'))
    )
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.create_index('ix_measure_person_id_starts_on', ['person_id', 'starts_on'], unique=False)
        batch_op.create_index('ix_measure_status_ends_on', ['status', 'ends_on'], unique=False)
        batch_op.create_index('ix_measure_status_starts_on', ['status', 'starts_on'], unique=False)

    op.create_table('person_tag',
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_tag_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tag', 'person_id', name=op.f('pk_person_tag'))
    )
    op.create_table('follow_up',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('measure_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('temperature', sa.Float(), nullable=False),
    sa.Column('symptoms', JSONType, nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_follow_up_measure_id_measure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_measure_id'), ['measure_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_measure_id'))

    op.drop_table('follow_up')
    op.drop_table('person_tag')
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_status_starts_on')
        batch_op.drop_index('ix_measure_status_ends_on')
        batch_op.drop_index('ix_measure_person_id_starts_on')

    op.drop_table('measure')
    with op.batch_alter_table('travel_record', schema=None) as batch_op:
        batch_op.drop_index('ix_travel_record_region_code_last_seen')
        batch_op.drop_index('ix_travel_record_phone_index')
        batch_op.drop_index('ix_travel_record_person_id_last_seen')
        batch_op.drop_index('ix_travel_record_id_number_index')

    op.drop_table('travel_record')
    op.drop_table('served_trigger')
    op.drop_table('risk_area')
    op.drop_table('policy_version')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_region_code_id')
        batch_op.drop_index(batch_op.f('ix_person_phone_index'))
        batch_op.drop_index(batch_op.f('ix_person_name'))
        batch_op.drop_index('ix_person_health_color_id')

    op.drop_table('person')
    with op.batch_alter_table('exposure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exposure_subject'))
        batch_op.drop_index(batch_op.f('ix_exposure_person_id'))

    op.drop_table('exposure')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entity_entity_id')
        batch_op.drop_index('ix_audit_actor_at')

    op.drop_table('audit')
