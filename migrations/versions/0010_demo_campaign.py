"""The demo story «Сезонная акция»: the campaign a run published, so the reset removes it.

Revision ID: 0010
Revises: 0009

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('demo_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms_version', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_demo_runs_terms_version_program_terms'),
            'program_terms',
            ['terms_version'],
            ['id'],
        )


def downgrade():
    with op.batch_alter_table('demo_runs', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_demo_runs_terms_version_program_terms'), type_='foreignkey'
        )
        batch_op.drop_column('terms_version')
