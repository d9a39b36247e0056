"""Program terms as data: the table of versions, version 1 (the help page's terms) written here,
and every grant and SMS pack naming the version that made it (the existing ones: version 1).
The ladder's level and the pack sizes are no longer bounded by one table of terms.

Revision ID: 0008
Revises: 0007

"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Version 1, frozen here as the help page states it: a later change of the code's constants
# must never change what this migration wrote.
_VERSION_1 = {
    'id': 1,
    'title': 'Условия из справки',
    'status': 'published',
    'effective_from': datetime(2000, 1, 1),
    'ends_at': None,
    'referee_percent': 20,
    'referee_months': 3,
    'apply_window_months': 1,
    'max_discount_percent': 100,
    'ladder': [
        {'percent': 20, 'months': 3, 'sms_pack': None},
        {'percent': 40, 'months': 6, 'sms_pack': None},
        {'percent': 60, 'months': 12, 'sms_pack': 1200},
        {'percent': 80, 'months': 12, 'sms_pack': None},
        {'percent': 100, 'months': 12, 'sms_pack': 3200},
    ],
    'created_at': datetime(2000, 1, 1),
    'created_by': None,
    'published_at': datetime(2000, 1, 1),
    'published_by': None,
    'withdrawn_at': None,
    'withdrawn_by': None,
}


def upgrade():
    with op.batch_alter_table('managers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('edits_program_terms', sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    terms = op.create_table('program_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('referee_percent', sa.Integer(), nullable=False),
    sa.Column('referee_months', sa.Integer(), nullable=False),
    sa.Column('apply_window_months', sa.Integer(), nullable=False),
    sa.Column('max_discount_percent', sa.Integer(), nullable=False),
    sa.Column('ladder', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name=op.f('ck_program_terms_status_known')),
    sa.CheckConstraint('referee_percent BETWEEN 1 AND 100', name=op.f('ck_program_terms_referee_percent_valid')),
    sa.CheckConstraint('max_discount_percent BETWEEN 1 AND 100', name=op.f('ck_program_terms_cap_valid')),
    sa.CheckConstraint('referee_months >= 1 AND apply_window_months >= 1', name=op.f('ck_program_terms_months_valid')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at > effective_from', name=op.f('ck_program_terms_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by'], ['managers.id'], name=op.f('fk_program_terms_created_by_managers')),
    sa.ForeignKeyConstraint(['published_by'], ['managers.id'], name=op.f('fk_program_terms_published_by_managers')),
    sa.ForeignKeyConstraint(['withdrawn_by'], ['managers.id'], name=op.f('fk_program_terms_withdrawn_by_managers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_terms'))
    )
    with op.batch_alter_table('program_terms', schema=None) as batch_op:
        batch_op.create_index('ix_program_terms_status_from', ['status', 'effective_from'], unique=False)

    op.bulk_insert(terms, [_VERSION_1])
    if op.get_bind().dialect.name == 'postgresql':
        # The row was written with its id: the next version must get 2.
        op.execute("SELECT setval(pg_get_serial_sequence('program_terms', 'id'), 1)")

    for table in ('grants', 'sms_packs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('terms_version', sa.Integer(), nullable=True))
        op.execute(f'UPDATE {table} SET terms_version = 1')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('terms_version', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_terms_version_program_terms'),
                'program_terms', ['terms_version'], ['id'],
            )

    # Levels and pack sizes now come from the version: the table of one ladder leaves the schema.
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_grants_reason_level'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_grants_reason_level'),
            "(reason = 'referee' AND level IS NULL) OR (reason = 'referrer' AND level >= 1)",
        )
    with op.batch_alter_table('sms_packs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_sms_packs_size_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_sms_packs_size_positive'), 'size > 0')


def downgrade():
    # The old schema knows only the help page's terms: refuse rather than lose what other
    # versions gave.
    bind = op.get_bind()
    others = bind.execute(sa.text(
        'SELECT (SELECT count(*) FROM grants WHERE terms_version <> 1)'
        ' + (SELECT count(*) FROM sms_packs WHERE terms_version <> 1)'
    )).scalar()
    if others:
        raise RuntimeError(f'{others} row(s) made by terms other than version 1: cannot downgrade below 0008')

    with op.batch_alter_table('sms_packs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_sms_packs_size_positive'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_sms_packs_size_known'), 'size IN (1200, 3200)')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_grants_reason_level'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_grants_reason_level'),
            "(reason = 'referee' AND level IS NULL) OR (reason = 'referrer' AND level BETWEEN 1 AND 5)",
        )
    for table in ('sms_packs', 'grants'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_terms_version_program_terms'), type_='foreignkey')
            batch_op.drop_column('terms_version')

    with op.batch_alter_table('program_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_program_terms_status_from')
    op.drop_table('program_terms')

    with op.batch_alter_table('managers', schema=None) as batch_op:
        batch_op.drop_column('edits_program_terms')
