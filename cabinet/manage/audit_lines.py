"""The audit log as the panel shows it: real time first, the cabinet's time beside it, and what
each action changed in a few words (a time machine move: from → to; a version of the terms:
its number, title and when it is in force)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from cabinet.audit.services import AuditLine
from cabinet.moments import show_moment
from cabinet.program.services import ACTIONS as TERMS_ACTIONS


@dataclass(frozen=True)
class ShownLine:
    recorded: str  # real time
    cabinet_time: str  # the cabinet's clock when it happened
    shifted: bool  # the two differ (the time machine had moved)
    manager: str
    action: str
    client_id: int | None
    reason: str
    details: str


def lines(
    entries: Iterable[AuditLine], actions: Mapping[str, str], zone: tzinfo
) -> list[ShownLine]:
    return [
        ShownLine(
            recorded=show_moment(e.recorded_at, zone),
            cabinet_time=show_moment(e.at, zone),
            shifted=show_moment(e.recorded_at, zone) != show_moment(e.at, zone),
            manager=e.manager,
            action=actions.get(e.action, e.action),
            client_id=e.client_id,
            reason=e.reason,
            details=_details(e, zone),
        )
        for e in entries
    ]


def _details(entry: AuditLine, zone: tzinfo) -> str:
    details = entry.details
    if entry.action == "time_machine" and "from" in details and "to" in details:
        return f"{_moment(details['from'], zone)} → {_moment(details['to'], zone)}"
    if entry.action == "apply_code" and details.get("referrer_id"):
        return f"код клиента {details['referrer_id']}"
    if entry.action == "scenario_start" and isinstance(details.get("clients"), dict):
        return "клиенты " + ", ".join(str(i) for i in details["clients"].values())
    if entry.action in TERMS_ACTIONS and details.get("version"):
        said = f"версия {details['version']} «{details.get('title', '')}»"
        if details.get("effective_from"):
            said += f", с {_moment(details['effective_from'], zone)}"
        if details.get("ends_at"):
            said += f" до {_moment(details['ends_at'], zone)}"
        return said
    if entry.action.startswith("webhook_") and details.get("subscriber"):
        said = f"подписчик {details['subscriber']}"
        if details.get("url"):
            said += f" {details['url']}"
        if details.get("from_event"):
            said += f", с события № {details['from_event']}"
        return said
    if entry.action == "revoke_referral" and details.get("referral_id"):
        return f"реферал {details['referrer_id']} ← {details['referee_id']}"
    return ""


def _moment(value: object, zone: tzinfo) -> str:
    try:
        return show_moment(datetime.fromisoformat(str(value)), zone)
    except ValueError:
        return str(value)
