"""Indexes so a member's standing reads only what is current, however long its history:
the grants not yet ended (client, end), and the referrals not revoked (a partial index the
count of referred clients is read from).

Revision ID: 0007
Revises: 0006

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_LIVE = sa.text('revoked_at IS NULL')


def upgrade():
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index('ix_grants_client_ends', ['client_id', 'ends_at'], unique=False)
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(
            'ix_referrals_referrer_live', ['referrer_id'], unique=False,
            sqlite_where=_LIVE, postgresql_where=_LIVE,
        )


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_referrer_live')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index('ix_grants_client_ends')
