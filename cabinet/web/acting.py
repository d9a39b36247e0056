"""A manager acting in a client's cabinet: each change is also the manager's audit entry.

The change itself goes through the same service as the client's own; the entry is added to that
service's transaction (`before_commit`), so both are written or neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cabinet.audit import services as audit
from cabinet.auth.roles import current_visitor
from cabinet.clock import current_context

# The audit log's word for «done in the client's cabinet».
IN_CABINET = "в кабинете клиента"


def audit_hook(action: str, **details: Any) -> Callable[..., None] | None:
    """The `before_commit` that records `action` for the manager in the cabinet, if any."""
    visitor = current_visitor()
    if visitor is None or visitor.manager is None:
        return None
    manager_id, client_id = visitor.manager.id, visitor.client_id
    context = current_context()

    def write(*_result: object) -> None:
        audit.record(
            context.clock.now(),
            manager_id,
            action,
            client_id=client_id,
            reason=IN_CABINET,
            details=details,
        )

    return write
