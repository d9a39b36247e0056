"""Clients' phones in E.164 beside the phone as written, so the dashboard matches invitations
to referees in SQL.

Revision ID: 0006
Revises: 0005

"""
from alembic import op
import phonenumbers
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _e164(raw):
    # The same rule as cabinet.addresses.phone_e164, frozen here as it was when this ran.
    if not raw or len(raw) > 40:
        return None
    try:
        number = phonenumbers.parse(raw, 'RU')
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_e164', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_phone_e164'), ['phone_e164'], unique=False)
    clients = sa.table(
        'clients', sa.column('id', sa.Integer), sa.column('phone', sa.String),
        sa.column('phone_e164', sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(clients.c.id, clients.c.phone).where(clients.c.phone.is_not(None)))
    for client_id, phone in rows.fetchall():
        connection.execute(
            clients.update().where(clients.c.id == client_id).values(phone_e164=_e164(phone))
        )


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_phone_e164'))
        batch_op.drop_column('phone_e164')
