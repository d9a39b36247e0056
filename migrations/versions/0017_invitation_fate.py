"""The fate of each invitation: the gateway's delivery receipt (delivered, undeliverable,
expired) and when it came; the signed gateway callbacks already seen, so a replay is refused;
the member's consent as given (the IP it came from and the exact words shown; its moment is the
invitation's `created_at`).

Revision ID: 0017
Revises: 0012

"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt', sa.String(length=13), nullable=True))
        batch_op.add_column(sa.Column('receipt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('consent_ip', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('consent_text', sa.String(length=300), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_invitations_receipt_known'), "receipt IN ('delivered', 'undeliverable', 'expired')"
        )
    op.create_table('gateway_callbacks',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_gateway_callbacks'))
    )
    with op.batch_alter_table('gateway_callbacks', schema=None) as batch_op:
        batch_op.create_index('ix_gateway_callbacks_received_at', ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('gateway_callbacks', schema=None) as batch_op:
        batch_op.drop_index('ix_gateway_callbacks_received_at')
    op.drop_table('gateway_callbacks')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint('ck_invitations_receipt_known', type_='check')
        batch_op.drop_column('consent_text')
        batch_op.drop_column('consent_ip')
        batch_op.drop_column('receipt_at')
        batch_op.drop_column('receipt')
