"""Every SMS carries a short refusal link (`invitations.refusal_token`, /s/<token>), and each
applied code remembers the channel that brought it (`referral_channels`: the e-mail or SMS
invitation matched at the activation, or the personal link, its QR code or a messenger), for
the dashboard's conversion by channel.

Referrals activated before this revision get the channel of a matching invitation whose contact
is still raw (the latest one sent before the activation, as the cabinet does now); a contact
already replaced by its keyed hash cannot be matched here (the key is not the migration's), and
such a referral counts as «код без приглашения».

Revision ID: 0023
Revises: 0019

"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = "0022"
branch_labels = None
depends_on = None

_CHANNELS = "'email', 'sms', 'link', 'qr', 'telegram', 'whatsapp', 'share'"


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refusal_token', sa.String(length=10), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_invitations_refusal_token'), ['refusal_token']
        )
    op.create_table(
        'referral_channels',
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(
            f"channel IN ({_CHANNELS})", name=op.f('ck_referral_channels_channel_known')
        ),
        sa.ForeignKeyConstraint(
            ['referral_id'], ['referrals.id'],
            name=op.f('fk_referral_channels_referral_id_referrals'),
        ),
        sa.ForeignKeyConstraint(
            ['invitation_id'], ['invitations.id'],
            name=op.f('fk_referral_channels_invitation_id_invitations'),
        ),
        sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_referral_channels')),
    )
    # The referrals already made: the latest invitation from the referrer to the referee's
    # raw e-mail or number, sent before the activation (a sent one before a failed one).
    op.execute(
        """
        INSERT INTO referral_channels (referral_id, channel, invitation_id)
        SELECT r.id,
               (SELECT i.channel FROM invitations i WHERE i.id = m.invitation_id),
               m.invitation_id
        FROM referrals r
        JOIN (
            SELECT r2.id AS referral_id,
                   (SELECT i.id FROM invitations i
                    JOIN clients c ON c.id = r2.referee_id
                    WHERE i.member_id = r2.referrer_id
                      AND i.kind = 'invitation'
                      AND i.created_at <= r2.activated_at
                      AND (i.recipient = c.email OR i.recipient = c.phone_e164)
                    ORDER BY CASE WHEN i.status = 'sent' THEN 0 ELSE 1 END,
                             i.created_at DESC, i.id DESC
                    LIMIT 1) AS invitation_id
            FROM referrals r2
        ) m ON m.referral_id = r.id
        WHERE m.invitation_id IS NOT NULL
        """
    )


def downgrade():
    op.drop_table('referral_channels')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_invitations_refusal_token', type_='unique')
        batch_op.drop_column('refusal_token')
