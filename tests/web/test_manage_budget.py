"""The manager sees today's SMS budget and puts undelivered invitations back in the queue."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.audit.models import AuditEntry
from cabinet.db import db
from cabinet.invitations.models import Invitation
from cabinet.referrals import services
from tests.conftest import msk
from tests.support.factories import invitation, make_client
from tests.web.conftest import csrf_token, outside_requests
from tests.web.test_manage import make_manager, manager_login


def _invitation(member: int, status: str, n: int) -> Invitation:
    return invitation(
        member,
        f"+7916000{n:04d}",
        msk("2023-03-31 11:00"),
        status=status,
        attempts=8 if status == "failed" else 0,
        payload={"to": "x", "text": "y"},
    )


def test_budget_on_the_dashboard_and_requeue(app: Flask, client: FlaskClient) -> None:
    context = app.extensions["context"]
    with outside_requests(app):
        make_client(1, registered_at=msk("2023-01-01 09:00"))
        services.join(context.at(msk("2023-01-02 09:00")), 1)
        make_client(2, registered_at=msk("2023-03-29 09:00"))
        services.join(context.at(msk("2023-03-30 09:00")), 2)  # a new member
        db.session.add_all([_invitation(1, "sent", n) for n in range(3)])
        db.session.add_all([_invitation(2, "failed", 10 + n) for n in range(2)])
        db.session.commit()
    make_manager(app)
    manager_login(client)
    page = client.get("/manage/dashboard").text
    assert "5 из 500 (1,0 %); новые участники: 2;" in page.replace("\u00a0", " ")
    assert "исчерпали дневной лимит: 1." in page  # the new member's 2 a day
    assert "Отправить недоставленные снова" in page

    token = csrf_token(page)
    assert client.post("/manage/invitations/requeue").status_code == 400  # no CSRF token
    response = client.post("/manage/invitations/requeue", data={"csrf_token": token})
    assert response.status_code == 303
    with outside_requests(app):
        statuses = sorted(db.session.scalars(select(Invitation.status)))
        assert statuses == ["queued", "queued", "sent", "sent", "sent"]
        entry = db.session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.details) == ("requeue_invitations", {"invitations": 2})
    assert "Отправить недоставленные снова" not in client.get("/manage/dashboard").text
