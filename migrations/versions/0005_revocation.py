"""Revoking a fraudulent referral: who, when and why on the referral; voided grants and reversed
SMS packs kept with `revoked_at`; an SMS pack size is unique per client among held packs only;
the events feed gains the revocation's kinds.

Revision ID: 0005
Revises: 0004

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_KINDS_BEFORE = (
    'client_created', 'client_updated', 'client_joined', 'referral_activated', 'grant_issued',
    'grant_closed', 'sms_pack_granted',
)
_KINDS_AFTER = _KINDS_BEFORE + ('referral_revoked', 'grant_revoked', 'sms_pack_revoked')
_HELD = sa.text('revoked_at IS NULL')


def _kinds(kinds):
    return 'kind IN (' + ', '.join(f"'{kind}'" for kind in kinds) + ')'


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoke_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_referrals_revoked_by_managers'), 'managers', ['revoked_by'], ['id']
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_referrals_revocation_complete'),
            '(revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR '
            '(revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND length(revoke_reason) > 0)',
        )

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('sms_packs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_sms_packs_client_id'), type_='unique')
        batch_op.create_index(
            'uq_sms_packs_client_size_held', ['client_id', 'size'], unique=True,
            sqlite_where=_HELD, postgresql_where=_HELD,
        )

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_events_kind_known'), _kinds(_KINDS_AFTER))


def downgrade():
    # The old schema cannot say that a referral was revoked: refuse rather than bring revoked
    # referrals (and their voided grants) back to life.
    revoked = op.get_bind().execute(
        sa.text('SELECT count(*) FROM referrals WHERE revoked_at IS NOT NULL')
    ).scalar()
    if revoked:
        raise RuntimeError(f'{revoked} revoked referral(s): cannot downgrade below 0005')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_events_kind_known'), _kinds(_KINDS_BEFORE))

    with op.batch_alter_table('sms_packs', schema=None) as batch_op:
        batch_op.drop_index('uq_sms_packs_client_size_held')
        batch_op.create_unique_constraint(batch_op.f('uq_sms_packs_client_id'), ['client_id', 'size'])
        batch_op.drop_column('revoked_at')

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_referrals_revocation_complete'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_referrals_revoked_by_managers'), type_='foreignkey')
        batch_op.drop_column('revoke_reason')
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')
