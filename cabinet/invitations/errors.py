"""Why an invitation is refused, in plain Russian (one place for the texts)."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal
from cabinet.texts import plural


class InvitationRefusal(ProgramRefusal):
    """Refused before anything was queued. `field` names the form field it belongs to."""

    field = "recipient"


class NotAMember(InvitationRefusal):
    field = ""
    message = "Приглашать друзей могут участники программы: сначала вступите в программу."


class PhoneInvalid(InvitationRefusal):
    message = "Введите номер мобильного телефона, например +7 910 123-45-67."


class PhoneNotMobile(InvitationRefusal):
    message = "Это не мобильный номер: SMS можно отправить только на мобильный телефон."


class PhoneCountryNotAllowed(InvitationRefusal):
    def __init__(self, countries: tuple[str, ...] = ("RU",)) -> None:
        where = "России (+7)" if countries == ("RU",) else "стран: " + ", ".join(countries)
        super().__init__(f"SMS-приглашения отправляются только на номера {where}.")


class EmailInvalid(InvitationRefusal):
    message = "Введите адрес электронной почты, например friend@example.ru."


class ConsentMissing(InvitationRefusal):
    field = "consent"
    message = "Подтвердите, что друг согласен получить сообщение с приглашением."


class RecipientOptedOut(InvitationRefusal):
    message = "Получатель отказался от рассылок: отправить ему приглашение нельзя."


class RecipientCoolingDown(InvitationRefusal):
    def __init__(self, days: int, channel: str = "email") -> None:
        where = "этот номер" if channel == "sms" else "этот адрес"
        super().__init__(
            f"На {where} уже отправляли приглашение за последние {days} "
            f"{plural(days, 'день', 'дня', 'дней')}. "
            "Попробуйте позже или скопируйте код и отправьте его сами."
        )


class DailyCapReached(InvitationRefusal):
    field = ""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"Сегодня вы уже отправили {cap} приглашений — это максимум на день. Продолжите завтра."
        )


class SmsMemberCapReached(InvitationRefusal):
    field = ""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"Сегодня вы уже отправили SMS-приглашений: {cap} — это максимум на день. "
            "Отправьте приглашение по email или скопируйте код."
        )


class SmsBudgetExhausted(InvitationRefusal):
    field = ""
    message = (
        "Отправка SMS-приглашений на сегодня временно недоступна. "
        "Отправьте приглашение по email или скопируйте код."
    )


class UnsubscribeLinkInvalid(ProgramRefusal):
    message = (
        "Ссылка для отказа от рассылки недействительна. Проверьте, что она скопирована целиком."
    )


class RefusalLinkUnknown(ProgramRefusal):
    message = "Ссылка для отказа не найдена. Проверьте ссылку из SMS."


class CallbackRefused(ProgramRefusal):
    """A gateway callback refused: nothing changed."""

    message = "Запрос шлюза отклонен."


class CallbackSignatureBad(CallbackRefused):
    message = "Подпись запроса неверна."


class CallbackTooOld(CallbackRefused):
    message = "Запрос устарел: метка времени вне допустимого окна."


class CallbackReplayed(CallbackRefused):
    message = "Этот запрос уже принят: повтор отклонен."


class CallbackMalformed(CallbackRefused):
    message = "Тело запроса не соответствует формату."


class CallbackUnknownMessage(CallbackRefused):
    message = "Сообщение с таким ключом не найдено."


class CallbacksOff(CallbackRefused):
    message = "Прием уведомлений шлюза не настроен (GATEWAY_CALLBACK_SECRET)."
