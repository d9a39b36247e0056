"""Change stamps (cabinet/stamps.py): a random number per member, replaced in the same
transaction by every write that changes what the member sees; client 0 is the program's (the
terms, anything every member sees). The cabinet's pages and the discount API are named by them
(ETag) and cached under them (cabinet/conditional.py).

Revision ID: 0022
Revises: 0019

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'member_stamps',
        sa.Column('client_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_member_stamps')),
    )
    # The program's stamp: a database of its own never shares a cache key with another.
    op.bulk_insert(table, [{'client_id': 0, 'stamp': secrets.randbits(62)}])


def downgrade():
    op.drop_table('member_stamps')
