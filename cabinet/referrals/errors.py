"""Why the program refuses something, in the words a customer reads (one place for the texts)."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal
from cabinet.texts import months_within


class AlreadyMember(ProgramRefusal):
    message = "Вы уже участвуете в реферальной программе."


class CodeMalformed(ProgramRefusal):
    message = "Код приглашения состоит из 9 символов: цифр 0–9 и латинских букв a–f."


class CodeNotFound(ProgramRefusal):
    message = "Такого кода приглашения нет. Проверьте код и попробуйте еще раз."


class ReferrerClosed(CodeNotFound):
    """The owner closed its contract. The client hears «код не найден»: it is not the
    client's business whose contracts exist (and a guesser learns nothing)."""


class OwnCode(ProgramRefusal):
    message = "Это ваш собственный код. Введите код, который вам прислал друг."


class CodeAlreadyApplied(ProgramRefusal):
    message = "Вы уже применили код приглашения: применить код можно только один раз."


class CodeCycle(CodeNotFound):
    """The owner joined through this client's code (no two-client cycles). Refused as
    «код не найден», like any code that is not the client's to use."""


class ApplyWindowClosed(ProgramRefusal):
    def __init__(self, deadline: str, window_months: int) -> None:
        super().__init__(
            "Срок применения кода истек: код можно применить в течение "
            f"{months_within(window_months)} после регистрации АТС, до {deadline}."
        )


class ActivationOutOfOrder(ProgramRefusal):
    def __init__(self, last: str) -> None:
        super().__init__(
            "Нельзя активировать код задним числом: "
            f"последний код этого участника активирован {last}."
        )


# ---- a manager revoking a referral (cabinet/referrals/revocation.py) ----------------------


class RevocationReasonRequired(ProgramRefusal):
    message = "Укажите причину отмены реферала: она попадет в журнал действий."


class ReferralNotFound(ProgramRefusal):
    def __init__(self, referral_id: int) -> None:
        super().__init__(f"Реферал с ID {referral_id} не найден.")


class ReferralAlreadyRevoked(ProgramRefusal):
    def __init__(self, revoked_at: str) -> None:
        super().__init__(f"Этот реферал уже отменен {revoked_at}.")


class RevocationBeforeActivation(ProgramRefusal):
    def __init__(self, activated_at: str) -> None:
        super().__init__(
            f"Нельзя отменить реферал раньше его активации: код активирован {activated_at}."
        )
