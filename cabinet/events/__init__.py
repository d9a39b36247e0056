"""The events feed: what changed, in commit order, for the operator's systems that sync."""

from cabinet.events.models import EVENT_KINDS, EventKind
from cabinet.events.services import record

__all__ = ["EVENT_KINDS", "EventKind", "record"]
