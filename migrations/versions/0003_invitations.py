"""Invitations outbox and the stop list.

Revision ID: 0003
Revises: 0002

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=5), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=7), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_invitations_channel_known')),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name=op.f('ck_invitations_status_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_invitations_attempts_non_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.client_id'], name=op.f('fk_invitations_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('key', name=op.f('uq_invitations_key'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('ix_invitations_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_invitations_member_created', ['member_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_invitations_recipient_created', ['recipient', 'created_at'], unique=False)
        batch_op.create_index('ix_invitations_channel_created', ['channel', 'created_at'], unique=False)

    op.create_table('stop_list',
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('recipient', name=op.f('pk_stop_list'))
    )


def downgrade():
    op.drop_table('stop_list')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_channel_created')
        batch_op.drop_index('ix_invitations_recipient_created')
        batch_op.drop_index('ix_invitations_member_created')
        batch_op.drop_index('ix_invitations_due')
    op.drop_table('invitations')
