"""Scoped API tokens: each token names the scopes it may use (read, billing, provisioning).
Tokens issued before keep working with every scope and are marked `legacy_scopes`, so
`flask api-tokens list` warns about them.

Revision ID: 0012
Revises: 0010

"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

ALL_SCOPES = "read billing provisioning"


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=64), nullable=False, server_default=ALL_SCOPES)
        )
        batch_op.add_column(
            sa.Column("legacy_scopes", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    # Every token from now on is issued with its scopes named: no defaults left behind.
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("scopes", server_default=None)
        batch_op.alter_column("legacy_scopes", server_default=None)
        batch_op.create_check_constraint(
            batch_op.f("ck_api_tokens_scopes_not_empty"), "length(scopes) > 0"
        )


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_tokens_scopes_not_empty"), type_="check")
        batch_op.drop_column("legacy_scopes")
        batch_op.drop_column("scopes")
