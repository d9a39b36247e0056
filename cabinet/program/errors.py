"""Why an action on the program's terms is refused."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal


class TermsInvalid(ProgramRefusal):
    """A draft that cannot be terms: `errors` says what is wrong with which field."""

    message = "Условия не сохранены: исправьте отмеченные поля."

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__()
        self.errors = errors


class TermsNotFound(ProgramRefusal):
    def __init__(self, version: int) -> None:
        super().__init__(f"Версия условий {version} не найдена.")


class NotADraft(ProgramRefusal):
    def __init__(self, version: int) -> None:
        super().__init__(f"Версия {version} уже не черновик: ее нельзя изменить или опубликовать.")


class CannotWithdraw(ProgramRefusal):
    def __init__(self, version: int, why: str) -> None:
        super().__init__(f"Версию {version} нельзя отозвать: {why}.")


class TermsRightMissing(ProgramRefusal):
    message = "Изменять условия программы может только менеджер с правом «Условия программы»."


class ConfirmationMissing(ProgramRefusal):
    message = "Подтвердите действие: отметьте, что вы проверили предпросмотр."


class CampaignsOverlap(ProgramRefusal):
    """Two campaigns at once: which one applies would be a guess, so it is refused."""

    def __init__(self, version: int, other: int, title: str, period: str) -> None:
        super().__init__(
            f"Версию {version} нельзя опубликовать: ее даты пересекаются с акцией «{title}» "
            f"(версия {other}, {period}). Две акции одновременно не действуют: измените даты "
            "или отзовите ту акцию, пока она не началась."
        )
