"""Operator API: tokens (only their hashes) and the events feed.

Revision ID: 0002
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_api_tokens_name_not_empty')),
    sa.CheckConstraint('length(token_hash) = 64', name=op.f('ck_api_tokens_hash_length')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('client_created', 'client_updated', 'client_joined', 'referral_activated', 'grant_issued', 'grant_closed', 'sms_pack_granted')", name=op.f('ck_events_kind_known')),
    sa.CheckConstraint('id > 0', name=op.f('ck_events_id_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )


def downgrade():
    op.drop_table('events')
    op.drop_table('api_tokens')
