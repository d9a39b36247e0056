"""The referral page over HTTP: full pages and htmx fragments, forms, CSRF, access, paging."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cabinet.clock import Context, SettableClock
from cabinet.referrals import services
from cabinet.texts import invited_word, plural
from tests.conftest import msk
from tests.support.factories import make_client
from tests.support.page import page as read
from tests.support.statements import recorded
from tests.web.conftest import (
    Auth,
    csrf_token,
    outside_requests,
    referrer_with_referees,
    web_client,
)

HX = {"HX-Request": "true"}


def _member(app: Flask, client_id: int, at: str = "2023-03-01 09:00") -> str:
    context: Context = app.extensions["context"]
    with outside_requests(app):
        return services.join(context.at(msk(at)), client_id).code


def _refer(app: Flask, code: str, referees: range, first_day: int = 1) -> None:
    """Referees apply `code`, one a minute from 2023-03-{first_day} 10:00."""
    context: Context = app.extensions["context"]
    with outside_requests(app):
        for n, client_id in enumerate(referees):
            make_client(client_id, f"Компания {client_id}", registered_at=msk("2023-03-01 08:00"))
            moment = msk(f"2023-03-{first_day:02d} 10:00").replace(minute=0) + n * (
                msk("2023-03-01 10:01") - msk("2023-03-01 10:00")
            )
            services.join(context.at(moment), client_id, code)


def test_a_new_client_sees_the_join_view(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 409, "НовыйОфис"))
    html = client.get("/referral").get_data(as_text=True)
    assert "Вступить в программу" in html
    shown = read(html)
    assert shown.label_of("code") == "Код приглашения"
    assert {"Применить", "У меня нет кода"} <= set(shown.buttons())
    assert "Ваша скидка" not in html
    assert "Таблица скидок" in html and "пакет из 3 200 SMS" in html and "6 месяцев" in html


def test_join_without_a_code(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 409))
    response = auth.post("/referral/join")
    assert response.status_code == 303 and response.location == "/referral"
    html = client.get("/referral").get_data(as_text=True)
    assert "Вы участвуете в программе." in html
    # a new member's first screen: the offer and the next step, not a bare «0 %»
    assert 'id="discount"' not in html and "Как получить скидку" in html
    assert (
        "Пригласите друга: когда он применит ваш код, вы получите скидку 20 % на 3 месяца." in html
    )
    assert "поднимает ее по «Таблице скидок» — до 100 %." in html
    assert "Нажмите «Пригласить»" in html
    code = re.search(r'data-code="([0-9a-f]{9})"', html)
    assert code is not None
    assert "Есть код приглашения от друга?" in html  # still inside the one-month window


def test_apply_a_valid_code_without_javascript(app: Flask, client: FlaskClient, auth: Auth) -> None:
    web_client(app, 400, "АльфаТелеком", registered_at=msk("2023-01-01 00:00"))
    code = _member(app, 400)
    auth.login(web_client(app, 409, registered_at=msk("2023-03-20 09:00")))
    response = auth.post("/referral/apply", {"code": f" {code.upper()} "})
    assert response.status_code == 303
    html = client.get("/referral").get_data(as_text=True)
    assert "Код применен" in html
    assert read(html).by_id("discount").text == "20 %"
    assert "31.03.2023 12:00" in html and "29.06.2023 12:00" in html
    assert "Есть код приглашения от друга?" not in html  # a code is applied once


def test_apply_with_htmx_swaps_the_program_in_place(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    web_client(app, 400, registered_at=msk("2023-01-01 00:00"))
    code = _member(app, 400)
    auth.login(web_client(app, 409, registered_at=msk("2023-03-20 09:00")))
    response = auth.post("/referral/apply", {"code": code}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    swapped = read(html).first()  # the block alone, not the page
    assert (swapped.tag, swapped.attrs["id"]) == ("section", "program")
    assert "Код применен" in swapped.text and swapped.by_id("discount").text == "20 %"


def test_a_refused_code_is_explained_inline_with_the_value_kept(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 409))
    response = auth.post("/referral/apply", {"code": "abcdefabc"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    shown = read(html)
    assert shown.all("html")  # without JavaScript: the whole page, with the error
    field = shown.by_id("code")
    assert field.attrs["value"] == "abcdefabc"  # the typed value kept
    assert field.attrs["aria-invalid"] == "true" and "autofocus" in field.attrs
    # the error is the field's description, for a screen reader
    assert shown.by_id(field.attrs["aria-describedby"]).text.startswith(
        "Такого кода приглашения нет."
    )


def test_a_refused_code_with_htmx_returns_the_form_only(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 409))
    response = auth.post("/referral/apply", {"code": "12-34"}, headers=HX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#apply-form"
    html = response.get_data(as_text=True)
    form = read(html).first()
    assert (form.tag, form.attrs["id"]) == ("form", "apply-form")
    assert "Код приглашения состоит из 9 символов" in form.text
    assert form.by_id("code").attrs["value"] == "12-34"


def test_an_empty_code_is_explained(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 409))
    response = auth.post("/referral/apply", {"code": "  "})
    assert response.status_code == 422
    assert "Введите код приглашения." in response.get_data(as_text=True)


def test_promo_period_reads_starts_later(app: Flask, client: FlaskClient, auth: Auth) -> None:
    web_client(app, 400, registered_at=msk("2023-01-01 00:00"))
    code = _member(app, 400)
    auth.login(
        web_client(
            app, 407, registered_at=msk("2023-03-20 09:00"), promo_until=msk("2023-04-20 09:00")
        )
    )
    auth.post("/referral/apply", {"code": code})
    html = client.get("/referral").get_data(as_text=True)
    assert read(html).by_id("discount").text == "0 %"
    assert "20 % начнет действовать 20.04.2023" in html


def test_the_worked_example_as_the_referrer_sees_it(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    email, _ = referrer_with_referees(app)
    clock.set(msk("2023-04-01 12:00"))
    auth.login(email)
    html = client.get("/referral").get_data(as_text=True)
    shown = read(html)
    assert shown.by_id("discount").text == "60 %"
    assert "3 приглашенных" in shown.text
    assert "пакет из 1 200 SMS, 31.03.2023" in html
    assert html.index("31.03.2023 15:18") < html.index("31.03.2023 10:30")  # newest first
    clients = client.get("/referral?tab=clients").get_data(as_text=True)
    assert read(clients).column("ID клиента") == [
        "407",
        "401",
        "408",
    ]  # as on the help page's screen
    assert "Код активирован" in clients and "31.03.2023 10:03" in clients


def test_tabs_full_page_and_fragment_from_one_url(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 400))
    _member(app, 400)
    full = client.get("/referral?tab=clients")
    fragment = client.get("/referral?tab=clients", headers=HX)
    restore = client.get(
        "/referral?tab=clients", headers={**HX, "HX-History-Restore-Request": "true"}
    )
    assert read(full.get_data(as_text=True)).all("html")
    body = fragment.get_data(as_text=True)
    tabs = read(body).first()  # the block alone, not the page
    assert (tabs.tag, tabs.attrs["id"]) == ("div", "tabs")
    selected = [(tab.text, tab.attrs["href"]) for tab in tabs.all(role="tab", aria_selected="true")]
    assert selected == [("Приведенные клиенты", "/referral?tab=clients")]
    assert read(restore.get_data(as_text=True)).all("html")  # a pushed URL always gets the page
    for response in (full, fragment):
        assert "HX-Request" in response.headers["Vary"]
    # The fragment is the page's own block, not a copy: same markup in both.
    assert body.strip() in full.get_data(as_text=True)


def test_an_unknown_tab_falls_back_to_history(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 400))
    _member(app, 400)
    html = client.get("/referral?tab=<script>").get_data(as_text=True)
    selected = read(html).all(role="tab", aria_selected="true")
    assert [tab.attrs["href"] for tab in selected] == ["/referral?tab=history"]
    assert "<script>" not in html


def test_keyset_pages_of_referred_clients(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    email = web_client(app, 1, registered_at=msk("2023-01-01 00:00"))
    code = _member(app, 1)
    _refer(app, code, range(100, 125))  # 25 referees; 20 a page
    clock.set(msk("2023-03-10 12:00"))
    auth.login(email)
    first = client.get("/referral?tab=clients").get_data(as_text=True)
    ids = re.findall(r'<td data-label="ID клиента">(\d+)</td>', first)
    assert ids == [str(i) for i in range(124, 104, -1)]
    after = re.search(r'href="(/referral\?tab=clients&amp;after=[^"]+)"', first)
    assert after is not None
    second = client.get(after.group(1).replace("&amp;", "&"), headers=HX)
    ids = re.findall(r'<td data-label="ID клиента">(\d+)</td>', second.get_data(as_text=True))
    assert ids == [str(i) for i in range(104, 99, -1)]
    assert "Дальше" not in second.get_data(as_text=True)
    assert "В начало" in second.get_data(as_text=True)


def test_a_malformed_cursor_is_a_clear_400(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 1))
    _member(app, 1)
    response = client.get("/referral?tab=clients&after=drop-table")
    assert response.status_code == 400
    assert "Запрос не понят" in response.get_data(as_text=True)


@pytest.mark.parametrize("tab", ["history", "clients"])
def test_the_page_runs_a_fixed_number_of_statements(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock, tab: str
) -> None:
    small = web_client(app, 1, registered_at=msk("2023-01-01 00:00"))
    big = web_client(app, 2, registered_at=msk("2023-01-01 00:00"))
    _refer(app, _member(app, 1), range(100, 102))
    _refer(app, _member(app, 2), range(200, 240))
    clock.set(msk("2023-03-10 12:00"))
    # The terms in force are read once per process and program stamp (cabinet/referral_page):
    # a first page, not counted, reads them for both.
    auth.login(web_client(app, 3, registered_at=msk("2023-01-01 00:00")))
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/referral").text)})
    counts = []
    for email in (small, big):
        auth.login(email)
        with recorded(app) as statements:
            assert client.get(f"/referral?tab={tab}").status_code == 200
        counts.append(len(statements))
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/referral").text)})
    # the client, its standing (with its current grants, SMS packs and notice switch), and on
    # SQLite its BEGIN; the first page of the history tab comes in the standing's statement
    assert counts[0] == counts[1] <= (3 if tab == "history" else 4)


def test_post_without_csrf_token_is_refused(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 409))
    response = client.post("/referral/join")
    assert response.status_code == 400
    assert "Страница устарела" in response.get_data(as_text=True)
    hx = client.post("/referral/join", headers=HX)
    assert hx.status_code == 400 and hx.headers["HX-Retarget"] == "#alerts"
    assert "Ваша скидка" not in client.get("/referral").get_data(as_text=True)  # not joined


def test_htmx_posts_carry_the_token_in_a_header(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 409))
    page = client.get("/referral").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token is not None
    response = client.post("/referral/join", headers={**HX, "X-CSRFToken": token.group(1)})
    assert response.status_code == 200 and "Вы участвуете в программе." in response.text


def test_no_access_to_another_clients_data(app: Flask, client: FlaskClient, auth: Auth) -> None:
    web_client(app, 400, registered_at=msk("2023-01-01 00:00"))
    secret_code = _member(app, 400)
    auth.login(web_client(app, 401))
    for url in ("/referral", "/referral?tab=clients", "/referral?client=400", "/referral/400"):
        assert secret_code not in client.get(url).get_data(as_text=True)


def test_errors_are_russian_pages_without_tracebacks(
    app: Flask, client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "Страница не найдена" in missing.text
    wrong = client.get("/referral/apply")
    assert wrong.status_code == 405
    auth.login(web_client(app, 409))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("cabinet.referral_page.build", broken)
    failed = client.get("/referral")
    assert failed.status_code == 500
    assert "Что-то пошло не так" in failed.text
    assert "RuntimeError" not in failed.text and "Traceback" not in failed.text


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_htmx_is_served_from_static(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    hashed = r"/static/vendor/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js"
    script_tag = re.search(f'<script src="({hashed})" defer>', page)
    assert script_tag is not None
    assert "https://" not in page.split("<body")[0]  # nothing from a CDN
    with client.get(script_tag.group(1)) as script:
        assert script.status_code == 200


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "приглашенных пока нет"),
        (1, "приглашенный"),
        (3, "приглашенных"),
        (11, "приглашенных"),
        (21, "приглашенный"),
        (112, "приглашенных"),
    ],
)
def test_russian_plurals(n: int, text: str) -> None:
    assert invited_word(n) == text


def test_month_plurals() -> None:
    assert [plural(n, "месяц", "месяца", "месяцев") for n in (1, 3, 6, 12, 22)] == [
        "месяц",
        "месяца",
        "месяцев",
        "месяцев",
        "месяца",
    ]
