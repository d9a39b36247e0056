"""Why signing in or managing accounts is refused."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal


class LoginRefused(ProgramRefusal):
    message = "Неверный email или пароль."


class AccountClosed(ProgramRefusal):
    message = "Договор закрыт: вход в личный кабинет недоступен."


class ManagerRefused(ProgramRefusal):
    pass


class ManagerNotFound(ProgramRefusal):
    def __init__(self, manager_id: int) -> None:
        super().__init__(f"Менеджер с ID {manager_id} не найден.")


class ReadOnlyCabinet(ProgramRefusal):
    message = (
        "Кабинет клиента открыт только для просмотра: поддержка видит то же, что клиент, но "
        "действовать за клиента можно только в демо-режиме."
    )


class CabinetNotAllowed(ProgramRefusal):
    message = "У вас нет права открывать кабинеты клиентов."


class NoClientForAccount(ProgramRefusal):
    message = (
        "Ваша учетная запись оператора не связана ни с одним договором «Корпоративной АТС», "
        "поэтому личный кабинет открыть нельзя. Обратитесь в поддержку оператора."
    )


class NotAManager(ProgramRefusal):
    message = (
        "У вашей учетной записи нет роли менеджера реферальной программы: панель менеджера "
        "недоступна."
    )


class UnknownManager(ProgramRefusal):
    def __init__(self, email: str) -> None:
        super().__init__(
            f"Менеджер с адресом {email} не заведен в панели. Попросите администратора "
            "создать учетную запись менеджера с этим адресом."
        )
