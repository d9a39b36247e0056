"""Managers, the audit log and the demo time machine.

Revision ID: 0004
Revises: 0003

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('demo_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offset_seconds', sa.Float(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_demo_clock_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_clock'))
    )
    op.create_table('managers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_managers')),
    sa.UniqueConstraint('email', name=op.f('uq_managers_email'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint('length(action) > 0', name=op.f('ck_audit_log_action_not_empty')),
    sa.ForeignKeyConstraint(['manager_id'], ['managers.id'], name=op.f('fk_audit_log_manager_id_managers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_client_at', ['client_id', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_client_at')

    op.drop_table('audit_log')
    op.drop_table('managers')
    op.drop_table('demo_clock')
