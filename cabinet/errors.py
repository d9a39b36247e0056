"""The one base of every refusal the program gives, below the features that raise them."""

from __future__ import annotations


class ProgramRefusal(Exception):
    """A refused action: nothing changed, and `message` says why in plain Russian."""

    message = "Действие отклонено."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)
