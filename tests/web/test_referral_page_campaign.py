"""A campaign as the client reads it: the page says there is one and until when, «Таблица
скидок» shows the campaign's ladder with the regular one noted, and a history row made under a
campaign says so once the regular terms are back (a «40 % … уровень 1» row beside a table whose
level 1 is 20 % is explained). And the way forward of a referee still in its promo period, on
the page, step by step."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from cabinet.auth.services import create_manager
from cabinet.clock import Context, SettableClock
from cabinet.program import services as program_terms
from cabinet.referrals import services
from cabinet.texts import percent as nbsp_percent
from tests.conftest import msk
from tests.factories import make_client
from tests.support.terms_forms import terms_form
from tests.web.conftest import Auth, outside_requests, web_client

# Only level 1 changes: 40 % instead of 20 %, from 01.04.2023 to the end of 19.04.2023.
CAMPAIGN = terms_form(
    "Весенняя акция", "2023-04-01T00:00", "2023-04-20T00:00", level_1_percent="40"
)


def percent(n: int) -> str:
    return nbsp_percent(n).replace("\u00a0", " ")  # the test client reads plain spaces


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _campaign_and_a_referral(app: Flask, clock: SettableClock) -> str:
    """A member (client 500) whose first friend applied its code during the campaign."""
    context: Context = app.extensions["context"]
    email = web_client(app, 500, "Весна")
    with outside_requests(app):
        manager = create_manager(
            "pm@example.ru", "password-123", "Продакт", msk("2023-01-01"), edits_program_terms=True
        ).id
        version = program_terms.save_draft(context, manager, None, CAMPAIGN)
        program_terms.publish(context, manager, version, confirmed=True)
        code = services.join(context.at(msk("2023-03-01 09:00")), 500).code
        make_client(501, "Друг", registered_at=msk("2023-04-02 09:00"))
        services.join(context.at(msk("2023-04-03 10:00")), 501, code)
    return email


def test_during_a_campaign_the_page_says_so_and_until_when(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    email = _campaign_and_a_referral(app, clock)
    clock.set(msk("2023-04-05 12:00"))
    auth.login(email)
    page = _text(client.get("/referral").get_data(as_text=True))
    assert (
        f"Акция до 19.04.2023 включительно: за первого клиента {percent(40)} "
        f"(обычно {percent(20)})." in page
    )
    # the campaign's ladder, its level 1 noted with the regular one; level 2 is the same
    assert f"1 {percent(40)} (обычно {percent(20)}) 3 месяца" in page
    assert f"2 {percent(40)} 6 месяцев" in page
    # no «за каждого нового клиента 40 %»: only the first one gives 40 %
    assert f"скидку {percent(40)} за каждого нового клиента" not in page
    assert (
        "За первого нового клиента, который зарегистрирует ваш код, вы получаете скидку "
        f"{percent(40)}" in page
    )
    # the history row names the campaign that made it
    assert (
        f"{percent(40)} за приведенных клиентов, уровень 1 по условиям акции до 19.04.2023 "
        "включительно действует" in page
    )


def test_after_the_campaign_its_rows_name_the_campaign(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    email = _campaign_and_a_referral(app, clock)
    clock.set(msk("2023-04-25 12:00"))
    auth.login(email)
    page = _text(client.get("/referral").get_data(as_text=True))
    assert "Акция" not in page.split("Таблица скидок")[1]
    assert f"1 {percent(20)} 3 месяца" in page  # the regular ladder again
    assert (
        f"{percent(40)} за приведенных клиентов, уровень 1 по условиям акции до 19.04.2023 "
        "включительно действует" in page
    )


def test_a_referee_in_its_promo_period_reads_each_step_of_the_way_forward(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    """Its welcome grant waits for the promo period: «0 %» now, «20 % начнет действовать
    15.04.2023»; one more client would give 20 % now and 40 % once the welcome grant starts —
    said step by step, not «станет 20 % до …» against «0 %» and «20 % начнет действовать»."""
    context: Context = app.extensions["context"]
    with outside_requests(app):
        make_client(600, "Друг", registered_at=msk("2023-01-01 09:00"))
        code = services.join(context.at(msk("2023-03-01 09:00")), 600).code
    promo_until = msk("2023-04-15 09:00")
    email = web_client(
        app, 601, "Промо", registered_at=msk("2023-03-25 09:00"), promo_until=promo_until
    )
    clock.set(msk("2023-03-31 12:00"))
    with outside_requests(app):
        services.join(context.at(msk("2023-03-31 12:00")), 601, code)
    auth.login(email)
    page = _text(client.get("/referral").get_data(as_text=True))
    assert f"{percent(20)} начнет действовать 15.04.2023" in page
    assert (
        f"Еще 1 клиент — и скидка станет {percent(20)} до 15.04.2023, затем {percent(40)} до "
        f"29.06.2023, затем {percent(20)} до 14.07.2023." in page
    )


def test_a_campaign_published_while_a_member_reads_shows_on_the_next_page(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    """The terms a process keeps (read under the program's change stamp) are read again as soon
    as a version is published: the member's next page shows the campaign."""
    context: Context = app.extensions["context"]
    email = web_client(app, 510, "Читатель")
    clock.set(msk("2023-04-05 12:00"))
    auth.login(email)
    before = _text(client.get("/referral").get_data(as_text=True))
    assert "Акция до" not in before
    with outside_requests(app):
        manager = create_manager(
            "pm2@example.ru", "password-123", "Продакт", msk("2023-01-01"), edits_program_terms=True
        ).id
        version = program_terms.save_draft(
            context,
            manager,
            None,
            terms_form(
                "Акция сейчас", "2023-04-05T12:01", "2023-04-20T00:00", level_1_percent="40"
            ),
        )
        program_terms.publish(context, manager, version, confirmed=True)
    clock.set(msk("2023-04-05 12:02"))
    after = _text(client.get("/referral").get_data(as_text=True))
    assert f"Акция до 19.04.2023 включительно: за первого клиента {percent(40)}" in after
