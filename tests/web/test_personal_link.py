"""The personal link /r/<code> over HTTP: the public page, 404s and their limit, the code
waiting in «Применить» after sign-in, and the share dialog's link, QR code and messengers."""

from __future__ import annotations

import re
import socket
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from cabinet import limits
from cabinet.auth.services import create_manager
from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referrals import services
from cabinet.referrals.rules import HELP_PAGE_TERMS
from cabinet.web.links import PENDING_COOKIE
from tests.conftest import msk
from tests.factories import make_client
from tests.support.page import page as read
from tests.web.conftest import PASSWORD, Auth, csrf_token, outside_requests, web_client

HX = {"HX-Request": "true"}
BASE = "http://127.0.0.1:5000"  # CABINET_BASE_URL's default


def inviter(app: Flask, client_id: int = 400, name: str = "ТехСтрой") -> str:
    """An active member that can sign in; returns its code."""
    context: Context = app.extensions["context"]
    web_client(app, client_id, name, registered_at=msk("2023-01-01 00:00"), phone="+79161112233")
    with outside_requests(app):
        return services.join(context.at(msk("2023-03-01 09:00")), client_id).code


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\u00a0", " ").split())


def test_the_link_names_the_inviter_the_offer_the_steps_and_the_code(
    app: Flask, client: FlaskClient
) -> None:
    code = inviter(app)
    response = client.get(f"/r/{code}")
    assert response.status_code == 200
    page = text_of(response.text)
    assert "Вас приглашает ТехСтрой" in page
    assert "Скидка 20 % на 3 месяца пользования Корпоративной АТС" in page
    assert "Зарегистрируйте Корпоративную АТС." in page
    assert "В течение месяца после регистрации АТС войдите в личный кабинет" in page
    copy = [b for b in read(response.text).all("button") if b.text == "Копировать"]
    assert [b.attrs["data-copy"] for b in copy] == [code]  # «Копировать» copies the code
    assert f'data-code="{code}"' in response.text
    assert "Акция" not in page  # no campaign runs
    # Nothing about the client beyond its name: no id, no contacts.
    for secret in ("c400@example.ru", "+79161112233", "ID 400", "/400"):
        assert secret not in response.text
    # The code a stranger typed with noise is the same code.
    assert client.get(f"/r/{code[:4].upper()}-{code[4:]}").status_code == 200


def test_a_running_campaign_is_stated_with_its_end(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    code = inviter(app)
    context: Context = app.extensions["context"]
    with outside_requests(app):
        manager = create_manager(
            "m@example.ru", PASSWORD, "Менеджер", clock.now(), edits_program_terms=True
        )
        values = terms_rules.values_of(
            HELP_PAGE_TERMS, "Весна", "2023-04-01T00:00", "2023-04-30T00:00"
        )
        values["referee_percent"] = "30"
        draft = terms_services.save_draft(context, manager.id, None, values)
        terms_services.publish(context, manager.id, draft, True)
    clock.set(msk("2023-04-10 12:00"))
    page = text_of(client.get(f"/r/{code}").text)
    assert "Скидка 30 % на 3 месяца" in page
    assert "Акция «Весна» — условия действуют до 30.04.2023 00:00." in page
    clock.set(msk("2023-05-02 12:00"))
    page = text_of(client.get(f"/r/{code}").text)
    assert "Скидка 20 % на 3 месяца" in page and "Акция" not in page


@pytest.mark.parametrize("case", ["unknown", "closed", "not_a_member", "malformed"])
def test_no_page_for_a_code_that_invites_nobody(app: Flask, client: FlaskClient, case: str) -> None:
    code = inviter(app)
    with outside_requests(app):
        make_client(401, "Не участник")
    if case == "closed":
        with outside_requests(app):
            from cabinet.clients.models import Client

            db.session.get(Client, 400).status = "closed"
            db.session.commit()
    target = {
        "unknown": "abcdefabc" if code != "abcdefabc" else "abcdefabd",
        "closed": code,
        "not_a_member": "401",
        "malformed": "<script>",
    }[case]
    response = client.get(f"/r/{target}")
    assert response.status_code == 404
    page = text_of(response.text)
    assert "Ссылка-приглашение не найдена" in page
    assert "Такой ссылки-приглашения нет или она больше не действует." in page
    assert "ТехСтрой" not in page and PENDING_COOKIE not in response.headers.get("Set-Cookie", "")


def test_unknown_codes_are_limited_per_ip_and_known_ones_cost_nothing(
    make_app: object, database: None
) -> None:
    app = make_app(PERSONAL_LINK_MISS_LIMIT="3 per hour")  # type: ignore[operator]
    code = inviter(app)
    client = app.test_client()
    for _ in range(5):
        assert client.get(f"/r/{code}").status_code == 200  # a valid link is no miss
    statuses = [client.get(f"/r/abcdef{n:03d}").status_code for n in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    refused = client.get(f"/r/{code}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    assert "Слишком много попыток подряд. Попробуйте снова через" in text_of(refused.text)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.get(f"/r/{code}").status_code == 200  # another address counts apart


def test_the_code_waits_in_apply_after_sign_in_and_is_applied_only_by_its_click(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    code = inviter(app)
    email = web_client(app, 402, "НовыйОфис", registered_at=msk("2023-03-20 09:00"))
    assert client.get(f"/r/{code}").status_code == 200
    auth.login(email)
    page = client.get("/referral").text
    assert re.search(rf'id="code" name="code"[^>]*value="{code}"', page, re.S)
    assert "Код применен" not in page and "Вступить в программу" in page  # nothing applied
    assert "Код из ссылки-приглашения: нажмите «Применить»" in text_of(page)
    token = csrf_token(page)
    applied = client.post("/referral/apply", data={"code": code, "csrf_token": token})
    assert applied.status_code == 303
    assert f"{PENDING_COOKIE}=;" in applied.headers.get("Set-Cookie", "")
    assert "Код применен: вы получили скидку 20 % на три месяца" in text_of(
        client.get("/referral").text
    )


def test_no_code_waits_after_the_window_or_from_a_forged_cookie(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    code = inviter(app)
    late = web_client(app, 403, "Поздний", registered_at=msk("2023-01-10 09:00"))
    client.get(f"/r/{code}")
    auth.login(late)
    page = client.get("/referral").text
    assert code not in page and "Срок применения кода приглашения истек" in text_of(page)
    other = app.test_client()
    other.set_cookie(PENDING_COOKIE, code)  # unsigned: not ours
    Auth(other).login(web_client(app, 404, "Новый", registered_at=msk("2023-03-20 09:00")))
    assert code not in other.get("/referral").text


def modules_of(svg: str) -> list[list[bool]]:
    """The dark modules segno's SVG path draws: each `h n` a run of n modules on a row."""
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // 4  # type: ignore[union-attr]
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for dx in range(int(a)):
                grid[int(y)][int(x) + dx] = True
            x += int(a)
    return grid


def decode(svg: str) -> str:
    """Draw the SVG's modules and read them back with a QR decoder (zxing-cpp)."""
    grid = modules_of(svg)
    scale = 8
    image = Image.new("L", (len(grid) * scale, len(grid) * scale), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(grid):
        for col, dark in enumerate(line):
            if dark:
                draw.rectangle(
                    (col * scale, row * scale, (col + 1) * scale - 1, (row + 1) * scale - 1), 0
                )
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    return str(found[0].text)


def test_the_dialog_shares_the_link_its_qr_code_and_messengers(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    code = inviter(app)
    auth.login("c400@example.ru")
    dialog = client.get("/referral/invite?channel=sms", headers=HX).text
    link = f"{BASE}/r/{code}"
    copy = [b for b in read(dialog).all("button") if b.text == "Копировать ссылку"]
    assert [b.attrs["data-copy"] for b in copy] == [link]
    svg = re.search(r"<svg.*?</svg>", dialog, re.S)
    assert svg is not None
    assert decode(svg.group(0)) == link
    assert modules_of(svg.group(0))[4:-4] != []  # the quiet zone is part of the drawing
    assert " style=" not in svg.group(0)  # the CSP allows no style attribute
    assert segno.make(link, error="m").matrix  # the same encoder the page used
    share = re.search(r'data-share-url="([^"]+)"\s+data-share-text="([^"]+)"', dialog)
    assert share is not None and share.group(1) == link
    text = "ТехСтрой приглашает вас в Корпоративную АТС: скидка 20 % на 3 месяца по коду"
    assert share.group(2).replace("\u00a0", " ") == f"{text} {code}."
    assert "hidden" in read(dialog).one("button", data_share_url=True).attrs  # shown by JS only
    telegram = re.search(r'id="share-telegram" href="([^"]+)"', dialog)
    whatsapp = re.search(r'id="share-whatsapp" href="([^"]+)"', dialog)
    assert telegram is not None and whatsapp is not None
    tg = urlsplit(telegram.group(1).replace("&amp;", "&"))
    assert (tg.netloc, tg.path) == ("t.me", "/share/url")
    assert parse_qs(tg.query)["url"] == [link]
    assert parse_qs(tg.query)["text"][0].replace("\u00a0", " ") == f"{text} {code}."
    wa = urlsplit(whatsapp.group(1).replace("&amp;", "&"))
    assert wa.netloc == "wa.me"
    assert parse_qs(wa.query)["text"][0].replace("\u00a0", " ") == f"{text} {code}. {link}"
    # Without JavaScript, the dialog's page shares the same link.
    assert f'data-copy="{link}"' in client.get("/referral/invite").text


def test_the_link_page_passes_the_csp(app: Flask, client: FlaskClient) -> None:
    code = inviter(app)
    response = client.get(f"/r/{code}")
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert " style=" not in response.text and "<script>" not in response.text


def test_with_redis_unreachable_the_misses_are_counted_in_memory(
    make_app: object, database: None
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(  # type: ignore[operator]
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        PERSONAL_LINK_MISS_LIMIT="2 per hour",
    )
    code = inviter(app)
    client = app.test_client()
    assert client.get(f"/r/{code}").status_code == 200
    statuses = [client.get(f"/r/abcdef{n:03d}").status_code for n in range(4)]
    assert statuses == [404, 404, 429, 429]
    with app.app_context():
        assert limits.degraded()  # /readyz says so, as for every limit's fallback
