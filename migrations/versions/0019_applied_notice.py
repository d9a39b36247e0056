"""The notice «Клиент … применил ваш код» goes through the invitations' outbox: `kind` tells
an invitation from a notice (limits, the «Приглашения» tab and the dashboard count invitations
only); `members.notify_applied` is the member's switch in the cabinet (on by default).

Revision ID: 0019
Revises: 0017

"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=10), nullable=False, server_default='invitation')
        )
        batch_op.create_check_constraint(
            op.f('ck_invitations_kind_known'), "kind IN ('invitation', 'notice')"
        )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('notify_applied', sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('notify_applied')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint('ck_invitations_kind_known', type_='check')
        batch_op.drop_column('kind')
