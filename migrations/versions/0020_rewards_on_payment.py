"""Rewards earned on the referee's first payment and taken back on early churn (issue 23).

* `program_terms.reward_on` ('activation' | 'first_payment'; version 1 and every existing
  version: 'activation') and `program_terms.clawback_days` (0 = never);
* `payments`: what billing reports (one row per client and billing's payment id);
* `clients.closed_at`: when the client's contract closed (billing's closure);
* `referrals.qualified_at` (NULL: waiting for the first payment; existing rows: their
  activation), `referrals.clawed_back_at` and `referrals.clawback_reason`;
* the events feed gains payment_received, client_closed, referral_qualified,
  reward_clawed_back.

Revision ID: 0020
Revises: 0019

"""

from alembic import op
import sqlalchemy as sa


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_KINDS_BEFORE = (
    "client_created",
    "client_updated",
    "client_joined",
    "referral_activated",
    "grant_issued",
    "grant_closed",
    "sms_pack_granted",
    "referral_revoked",
    "grant_revoked",
    "sms_pack_revoked",
)
_KINDS_AFTER = _KINDS_BEFORE + (
    "payment_received",
    "client_closed",
    "referral_qualified",
    "reward_clawed_back",
)


def _kinds(kinds):
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade():
    with op.batch_alter_table("program_terms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reward_on", sa.String(length=20), nullable=False, server_default="activation"
            )
        )
        batch_op.add_column(
            sa.Column("clawback_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_program_terms_reward_on_known"),
            "reward_on IN ('activation', 'first_payment')",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_program_terms_clawback_days_valid"),
            "clawback_days BETWEEN 0 AND 3650",
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.Column("amount_kopecks", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount_kopecks > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("length(payment_id) > 0", name=op.f("ck_payments_payment_id_not_empty")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_payments_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("client_id", "payment_id", name="uq_payments_client_payment"),
    )
    op.create_index("ix_payments_client_paid", "payments", ["client_id", "paid_at"])

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_clients_closed_at_closed"),
            "closed_at IS NULL OR status = 'closed'",
        )

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("qualified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("clawed_back_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("clawback_reason", sa.String(length=20), nullable=True))
    # Every referral so far was earned at its activation (version 1's rule).
    op.execute("UPDATE referrals SET qualified_at = activated_at")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_referrals_qualified_after_activation"),
            "qualified_at IS NULL OR qualified_at >= activated_at",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_referrals_clawback_complete"),
            "(clawed_back_at IS NULL AND clawback_reason IS NULL) OR "
            "(clawed_back_at IS NOT NULL AND qualified_at IS NOT NULL "
            "AND clawback_reason IN ('contract_closed'))",
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_events_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_events_kind_known"), _kinds(_KINDS_AFTER))


def downgrade():
    # The old schema cannot say that a reward waits or was taken back: refuse rather than
    # turn waiting or clawed-back referrals into earned ones.
    bind = op.get_bind()
    waiting = bind.execute(
        sa.text(
            "SELECT count(*) FROM referrals WHERE qualified_at IS NULL "
            "OR clawed_back_at IS NOT NULL"
        )
    ).scalar()
    if waiting:
        raise RuntimeError(
            f"{waiting} waiting or clawed-back referral(s): cannot downgrade below 0020"
        )
    # The feed's ids are gapless: its new kinds cannot be deleted, so their presence refuses too.
    new_events = bind.execute(
        sa.text(
            "SELECT count(*) FROM events WHERE kind IN "
            "('payment_received', 'client_closed', 'referral_qualified', 'reward_clawed_back')"
        )
    ).scalar()
    if new_events:
        raise RuntimeError(f"{new_events} event(s) of kinds 0020 added: cannot downgrade below it")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_events_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_events_kind_known"), _kinds(_KINDS_BEFORE))

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_referrals_clawback_complete"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("ck_referrals_qualified_after_activation"), type_="check"
        )
        batch_op.drop_column("clawback_reason")
        batch_op.drop_column("clawed_back_at")
        batch_op.drop_column("qualified_at")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_clients_closed_at_closed"), type_="check")
        batch_op.drop_column("closed_at")

    op.drop_index("ix_payments_client_paid", table_name="payments")
    op.drop_table("payments")

    with op.batch_alter_table("program_terms", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_program_terms_clawback_days_valid"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_program_terms_reward_on_known"), type_="check")
        batch_op.drop_column("clawback_days")
        batch_op.drop_column("reward_on")
