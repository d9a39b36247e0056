"""Referral program core: clients, members, referrals, grants, SMS packs.

Revision ID: 0001
Revises: 

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.Column('promo_until', sa.DateTime(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('password_hash', sa.String(length=256), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'closed')", name=op.f('ck_clients_status_known')),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_clients_name_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('email', name=op.f('uq_clients_email'))
    )
    op.create_table('members',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('length(code) = 9', name=op.f('ck_members_code_length')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_members_client_id_clients')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_members')),
    sa.UniqueConstraint('code', name=op.f('uq_members_code'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referrer_id', sa.Integer(), nullable=False),
    sa.Column('referee_id', sa.Integer(), nullable=False),
    sa.Column('activated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('referrer_id <> referee_id', name=op.f('ck_referrals_not_self')),
    sa.ForeignKeyConstraint(['referee_id'], ['members.client_id'], name=op.f('fk_referrals_referee_id_members')),
    sa.ForeignKeyConstraint(['referrer_id'], ['members.client_id'], name=op.f('fk_referrals_referrer_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('referee_id', name=op.f('uq_referrals_referee_id'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_referrer_activated', ['referrer_id', 'activated_at', 'id'], unique=False)

    op.create_table('grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(reason = 'referee' AND level IS NULL) OR (reason = 'referrer' AND level BETWEEN 1 AND 5)", name=op.f('ck_grants_reason_level')),
    sa.CheckConstraint('ends_at >= starts_at', name=op.f('ck_grants_ends_after_start')),
    sa.CheckConstraint('percent > 0 AND percent <= 100', name=op.f('ck_grants_percent_valid')),
    sa.ForeignKeyConstraint(['client_id'], ['members.client_id'], name=op.f('fk_grants_client_id_members')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_grants_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index('ix_grants_client_starts', ['client_id', 'starts_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_referral_id'), ['referral_id'], unique=False)

    op.create_table('sms_packs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('size IN (1200, 3200)', name=op.f('ck_sms_packs_size_known')),
    sa.ForeignKeyConstraint(['client_id'], ['members.client_id'], name=op.f('fk_sms_packs_client_id_members')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_sms_packs_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_packs')),
    sa.UniqueConstraint('client_id', 'size', name=op.f('uq_sms_packs_client_id'))
    )
    with op.batch_alter_table('sms_packs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_packs_referral_id'), ['referral_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sms_packs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_packs_referral_id'))

    op.drop_table('sms_packs')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_referral_id'))
        batch_op.drop_index('ix_grants_client_starts')

    op.drop_table('grants')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_referrer_activated')

    op.drop_table('referrals')
    op.drop_table('members')
    op.drop_table('clients')
