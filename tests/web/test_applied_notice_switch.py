"""The member's switch «Сообщать мне по e-mail, когда друг применит мой код» on the referral
page, without JavaScript and with htmx, and what it changes at the next activation."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations.models import Invitation
from cabinet.referrals import queries, services
from tests.conftest import msk
from tests.factories import make_client
from tests.support.page import page as read
from tests.web.conftest import Auth, outside_requests, web_client

HX = {"HX-Request": "true"}
BOX = re.compile(r'<input type="checkbox" name="notify" value="y"( checked)?>')


def member(app: Flask, auth: Auth) -> str:
    email = web_client(app, 400, "АльфаТелеком", registered_at=msk("2023-01-01 00:00"))
    context: Context = app.extensions["context"]
    with outside_requests(app):
        services.join(context.at(msk("2023-03-01 09:00")), 400)
    auth.login(email)
    return email


def checked(html: str) -> bool:
    match = BOX.search(html)
    assert match, "no switch on the page"
    return bool(match.group(1))


def friend_applies(app: Flask) -> list[Invitation]:
    context: Context = app.extensions["context"]
    with outside_requests(app):
        make_client(2, "ТехСтрой")
        code = queries.member_code(400)
        assert code
        services.join(context.at(msk("2023-03-30 15:47")), 2, code)
        return list(db.session.scalars(select(Invitation)))


def test_the_switch_is_on_by_default_and_names_the_address(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    email = member(app, auth)
    page = client.get("/referral").text
    assert checked(page)
    assert "Сообщать мне по e-mail, когда друг применит мой код" in page
    assert f"Письмо придет на {email}." in page


def test_turned_off_without_javascript_then_no_letter_and_no_invitation_row(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, auth)
    response = auth.post("/referral/notice", {})  # an unticked box sends nothing
    assert (response.status_code, response.location) == (303, "/referral#applied-notice")
    page = client.get("/referral").text
    assert "Сохранено: письма о примененном коде приходить не будут." in page
    assert not checked(page)
    assert friend_applies(app) == []


def test_turned_on_with_htmx_the_fragment_says_where_the_letter_goes(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    email = member(app, auth)
    auth.post("/referral/notice", {})
    response = auth.post("/referral/notice", {"notify": "y"}, headers=HX)
    assert response.status_code == 200
    assert read(response.text).first().tag == "section"  # only the partial, swapped in place
    assert not read(response.text).all("html")
    assert f"Сохранено: когда друг применит ваш код, мы сообщим на {email}." in response.text
    assert checked(response.text)
    [notice] = friend_applies(app)
    assert (notice.kind, notice.recipient) == ("notice", email)
    # The «Приглашения» tab lists invitations only.
    tab = client.get("/referral?tab=invitations").text
    assert "Вы еще не отправляли приглашений." in tab
    assert "ТехСтрой" not in read(tab).by_id("tab-panel").text


def test_a_client_outside_the_program_has_no_switch(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 401, "Гамма"))
    assert "Сообщать мне по e-mail" not in client.get("/referral").text
    response = auth.post("/referral/notice", {"notify": "y"})
    assert (response.status_code, response.text) == (409, "Сначала вступите в программу.")


def test_a_post_without_the_csrf_token_is_refused(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, auth)
    response = client.post("/referral/notice", data={})
    assert response.status_code == 400
    assert checked(client.get("/referral").text)
