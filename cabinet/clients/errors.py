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


class PaymentConflict(ProgramRefusal):
    """The same payment id reported again with another moment or amount: billing's own data
    disagree; nothing changes (the same report again answers as the first time)."""

    def __init__(self, payment_id: str, paid_at: str, amount: str) -> None:
        super().__init__(
            f"Платеж «{payment_id}» уже получен с другими данными: оплачен {paid_at}, "
            f"сумма {amount}. Ничего не изменилось."
        )


class ClosureConflict(ProgramRefusal):
    def __init__(self, closed_at: str) -> None:
        super().__init__(
            f"Договор клиента уже закрыт {closed_at}; другая дата закрытия не принимается."
        )


class MomentInFuture(ProgramRefusal):
    def __init__(self, what: str, now: str) -> None:
        super().__init__(f"{what} не может быть позже текущего момента ({now}).")


class MomentBeforeRegistration(ProgramRefusal):
    def __init__(self, what: str, registered: str) -> None:
        super().__init__(f"{what} не может быть раньше регистрации АТС клиента ({registered}).")


class ClosedByBilling(ProgramRefusal):
    def __init__(self, closed_at: str) -> None:
        super().__init__(
            f"Договор клиента закрыт биллингом {closed_at}: вернуть статус active нельзя."
        )
