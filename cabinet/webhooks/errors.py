"""Why an action on webhook subscribers is refused."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal


class UrlInvalid(ProgramRefusal):
    message = "Укажите адрес вида https://billing.example.ru/webhooks."


class UrlNotHttps(ProgramRefusal):
    message = (
        "Адрес должен начинаться с https://: события подписаны, но не зашифрованы. "
        "http:// допускается только для 127.0.0.1 при разработке и в тестах."
    )


class NoteTooLong(ProgramRefusal):
    message = "Описание — не длиннее 200 символов."


class SubscriberNotFound(ProgramRefusal):
    def __init__(self, subscriber_id: int) -> None:
        super().__init__(f"Подписчик {subscriber_id} не найден или уже удален.")


class EventNotFound(ProgramRefusal):
    def __init__(self, event_id: int) -> None:
        super().__init__(f"События {event_id} нет в ленте.")


class WebhooksRightMissing(ProgramRefusal):
    message = "Подписчиков вебхуков может менять только менеджер с правом «Вебхуки»."
