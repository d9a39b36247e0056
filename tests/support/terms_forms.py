"""Terms the tests use: the editor's form as a manager fills it (the help page's ladder, with
what a test changes on top), and the seven-level version that once broke «Сценарии»."""

from __future__ import annotations

from cabinet.referrals.rules import Step, TermsNumbers

# Seven levels, SMS packs at 3, 5 and 7: valid terms that once broke «Сценарии».
SEVEN_LEVELS = TermsNumbers(
    0,
    20,
    3,
    (
        Step(1, 20, 3, None),
        Step(2, 30, 3, None),
        Step(3, 40, 6, 500),
        Step(4, 50, 6, None),
        Step(5, 60, 12, 1200),
        Step(6, 70, 12, None),
        Step(7, 80, 12, 3200),
    ),
    1,
    100,
)

HELP_PAGE_FORM: dict[str, str] = {
    "referee_percent": "20",
    "referee_months": "3",
    "apply_window_months": "1",
    "max_discount_percent": "100",
    "level-1-percent": "20",
    "level-1-months": "3",
    "level-2-percent": "40",
    "level-2-months": "6",
    "level-3-percent": "60",
    "level-3-months": "12",
    "level-3-sms_pack": "1200",
    "level-4-percent": "80",
    "level-4-months": "12",
    "level-5-percent": "100",
    "level-5-months": "12",
    "level-5-sms_pack": "3200",
}


def terms_form(title: str, effective_from: str, ends_at: str = "", **fields: str) -> dict[str, str]:
    """The editor's fields: the help page's ladder, then `fields` (`level_1_percent="40"` sets
    «level-1-percent»)."""
    form = {"title": title, "effective_from": effective_from, "ends_at": ends_at}
    form.update(HELP_PAGE_FORM)
    form.update(
        {
            name.replace("_", "-", 2) if name.startswith("level_") else name: value
            for name, value in fields.items()
        }
    )
    return form
