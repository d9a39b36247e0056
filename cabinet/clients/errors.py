"""Why an operation on a client is refused."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal


class ClientNotFound(ProgramRefusal):
    def __init__(self, client_id: int) -> None:
        super().__init__(f"Клиент с ID {client_id} не найден.")


class ClientExists(ProgramRefusal):
    def __init__(self, client_id: int) -> None:
        super().__init__(f"Клиент с ID {client_id} уже существует.")


class EmailTaken(ProgramRefusal):
    def __init__(self, email: str) -> None:
        super().__init__(f"Адрес {email} уже указан у другого клиента.")


class ClientClosed(ProgramRefusal):
    message = "Договор клиента закрыт: участие в реферальной программе недоступно."
