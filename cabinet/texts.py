"""Russian words that depend on a number (one place for them)."""

from __future__ import annotations


def plural(n: int, one: str, few: str, many: str) -> str:
    """`plural(3, "месяц", "месяца", "месяцев")` → "месяца" (1 месяц, 2 месяца, 5 месяцев)."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def invited_word(n: int) -> str:
    """The word under the count: «3 приглашенных», «21 приглашенный»; none: «…пока нет»."""
    if n == 0:
        return "приглашенных пока нет"
    return plural(n, "приглашенный", "приглашенных", "приглашенных")


def months(n: int) -> str:
    return f"{n} {plural(n, 'месяц', 'месяца', 'месяцев')}"
