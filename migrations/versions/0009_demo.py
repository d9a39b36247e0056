"""The product manager's demo: the right to open a client's cabinet, the audit log's real time,
and the demo scenarios' runs.

Revision ID: 0009
Revises: 0008

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('managers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('opens_client_cabinets', sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    # Entries written before this column get their cabinet time: the best we know.
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE audit_log SET recorded_at = at')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('recorded_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index('ix_audit_log_recorded_at', ['recorded_at', 'id'], unique=False)

    op.create_table('demo_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('clients', sa.JSON(), nullable=False),
    sa.Column('steps_done', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_runs'))
    )
    with op.batch_alter_table('demo_runs', schema=None) as batch_op:
        batch_op.create_index('ix_demo_runs_story', ['story', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('demo_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_demo_runs_story')
    op.drop_table('demo_runs')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_recorded_at')
        batch_op.drop_column('recorded_at')

    with op.batch_alter_table('managers', schema=None) as batch_op:
        batch_op.drop_column('opens_client_cabinets')
