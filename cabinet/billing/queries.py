"""The invoice preview for one client: its grants from the database, the rules from rules.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cabinet.billing import rules
from cabinet.clients.services import find_client
from cabinet.clock import Context
from cabinet.referrals import queries


def invoice_preview(
    context: Context, client_id: int, lines: Sequence[rules.Line], at: datetime | None
) -> tuple[datetime, rules.Invoice]:
    """Price `lines` for the client; lines without a period at `at` (default: now)."""
    find_client(client_id)
    moment = at or context.clock.now()
    grants = queries.in_effect(queries.history(client_id))
    schedule = queries.schedule()
    return moment, rules.price(lines, grants, moment, context.timezone, schedule.at)
