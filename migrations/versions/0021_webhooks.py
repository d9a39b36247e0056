"""Signed webhooks: subscribers, their outbox (one delivery per event per subscriber, kept as
the delivery log), and the managers' right «Вебхуки».

Revision ID: 0021
Revises: 0020

"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_subscribers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=60), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('after', sa.Integer(), nullable=False),
    sa.CheckConstraint('after >= 0', name=op.f('ck_webhook_subscribers_after_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscribers')),
    sqlite_autoincrement=True,
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=9), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'sending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_webhook_deliveries_attempts_non_negative')),
    sa.ForeignKeyConstraint(['subscriber_id'], ['webhook_subscribers.id'], name=op.f('fk_webhook_deliveries_subscriber_id_webhook_subscribers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscriber_id', 'event_id', name=op.f('uq_webhook_deliveries_subscriber_id')),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('managers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('manages_webhooks', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('managers', schema=None) as batch_op:
        batch_op.drop_column('manages_webhooks')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_due')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscribers')
