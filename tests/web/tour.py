"""A tour of every endpoint, as a signed-in client, a manager and the billing API would call
them, over a program of a given size. The statement-count and EXPLAIN tests both take it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cabinet.api import tokens
from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referral_page import encode_cursor
from cabinet.referrals import queries, services
from cabinet.referrals.rules import HELP_PAGE_TERMS
from cabinet.webhooks import services as webhooks
from tests.conftest import msk
from tests.support.factories import invitation, make_client
from tests.support.routes import owner_of
from tests.support.sign_in import sign_in, sign_in_manager
from tests.support.statements import recorded
from tests.web.conftest import PASSWORD, csrf_token, outside_requests

HX = {"HX-Request": "true"}


@dataclass
class World:
    """A referrer with `size` referred clients and invitations, and the rest of a tour."""

    referrer: int
    email: str
    code: str
    newcomer: int  # applies the referrer's code
    joiner: int  # joins without a code
    referral_id: int  # one of the referrer's referrals, for the manager's revocation
    history_after: str
    clients_after: str
    manager: str
    token: str
    draft: int  # a draft of the terms, for the manager's «Условия программы»
    campaign: tuple[str, str]  # its dates: each world's own (two campaigns may not overlap)
    subscriber: int  # a webhook subscriber, for «Вебхуки»
    spare_subscriber: int  # another, for «Удалить подписчика»
    event: int  # an event of the feed, to send again


def make_world(app: Flask, base: int, size: int) -> World:
    """Clients numbered from `base`: the referrer, `size` referees, two newcomers."""
    context: Context = app.extensions["context"]
    referrer, email = base, f"r{base}@example.ru"
    with outside_requests(app):
        make_client(referrer, registered_at=msk("2023-01-01 00:00"), email=email, password=PASSWORD)
        code = services.join(context.at(msk("2023-02-01 09:00")), referrer).code
        for n in range(size):
            referee = base + 1 + n
            make_client(referee, registered_at=msk("2023-02-15 08:00"))
            moment = msk("2023-03-01 10:00") + timedelta(minutes=n)
            services.join(context.at(moment), referee, code)
        now = context.clock.now()
        db.session.add_all(
            invitation(
                referrer,
                f"+7910{base + n:07d}",
                now - timedelta(days=2, minutes=n),  # clear of today's cap
                status="sent",
                sent_at=now,
            )
            for n in range(size)
        )
        db.session.commit()
        newcomer, joiner = base + size + 1, base + size + 2
        for client_id in (newcomer, joiner):
            make_client(client_id, email=f"c{client_id}@example.ru", password=PASSWORD)
        history = queries.history(referrer, limit=2, newest_first=True)
        referred = queries.referred_clients(referrer, limit=2, newest_first=True)
        manager = f"m{base}@example.ru"
        manager_id = create_manager(
            manager,
            PASSWORD,
            f"Менеджер {base}",
            now,
            edits_program_terms=True,
            manages_webhooks=True,
        ).id
        token = tokens.issue(context, f"tour-{base}").token
        campaign = CAMPAIGN_DATES[base // 1000 % 2]
        draft = terms_services.save_draft(
            context, manager_id, None, _campaign(f"Акция {base}", campaign)
        )
        subscriber = webhooks.add_subscriber(
            context, manager_id, f"https://billing.example.ru/hooks/{base}", "Биллинг", False
        )
        spare = webhooks.add_subscriber(
            context, manager_id, f"https://crm.example.ru/hooks/{base}", "", False
        )
    return World(
        referrer=referrer,
        email=email,
        code=code,
        newcomer=newcomer,
        joiner=joiner,
        referral_id=referred[-1].referral_id,
        history_after=encode_cursor(history[-1].cursor),
        clients_after=encode_cursor(referred[-1].cursor),
        manager=manager,
        token=token,
        draft=draft,
        campaign=campaign,
        subscriber=subscriber.id,
        spare_subscriber=spare.id,
        event=subscriber.after,
    )


CAMPAIGN_DATES = (
    ("2023-04-10T00:00", "2023-04-20T00:00"),
    ("2023-04-21T00:00", "2023-04-30T00:00"),
)


def _campaign(title: str, dates: tuple[str, str] = CAMPAIGN_DATES[0]) -> dict[str, str]:
    return terms_rules.values_of(HELP_PAGE_TERMS, title, *dates)


Step = Callable[[FlaskClient, World, str], TestResponse]


SignIn = Callable[[FlaskClient, World], str]


def _as(email: Callable[[World], str]) -> SignIn:
    """Sign a client in; returns the CSRF token of its pages."""

    def signed_in(client: FlaskClient, world: World) -> str:
        sign_in(client, email(world))
        match = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/referral").text)
        assert match is not None
        return match.group(1)

    return signed_in


def _as_manager(client: FlaskClient, world: World) -> str:
    sign_in_manager(client, world.manager)
    return csrf_token(client.get("/manage/clients").text)


def _api(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token}"}


@dataclass(frozen=True)
class Stop:
    """One call of the tour: the call, made by whom the route catalogue says the endpoint is for
    (tests/support/routes.py), signed in outside the count; `before` signs in someone else."""

    name: str
    endpoint: str
    call: Step
    before: SignIn | None = None
    status: int = 200


INVOICE = {
    "lines": [
        {
            "kind": "service",
            "amount": 1000000,
            "period": {"first_day": "2023-04-01", "last_day": "2023-04-30"},
        },
        {"kind": "sms_package", "amount": 50000},
    ]
}

REFERRER = _as(lambda w: w.email)
SIGN_IN: dict[str, SignIn] = {"client": REFERRER, "manager": _as_manager}
STOPS = (
    Stop("home", "shell.index", lambda c, w, t: c.get("/"), status=302),
    Stop("login form", "auth.login", lambda c, w, t: c.get("/login")),
    Stop("sign in", "auth.login", lambda c, w, t: sign_in(c, w.email), status=302),
    Stop("liveness", "health.healthz", lambda c, w, t: c.get("/healthz")),
    Stop("readiness", "health.readyz", lambda c, w, t: c.get("/readyz")),
    Stop("metrics", "observability.exposition", lambda c, w, t: c.get("/metrics")),
    Stop("referral page", "referrals.show", lambda c, w, t: c.get("/referral")),
    Stop(
        "history tab", "referrals.show", lambda c, w, t: c.get("/referral?tab=history", headers=HX)
    ),
    Stop(
        "history, next page",
        "referrals.show",
        lambda c, w, t: c.get(f"/referral?tab=history&after={w.history_after}", headers=HX),
    ),
    Stop(
        "clients tab", "referrals.show", lambda c, w, t: c.get("/referral?tab=clients", headers=HX)
    ),
    Stop(
        "clients, next page",
        "referrals.show",
        lambda c, w, t: c.get(f"/referral?tab=clients&after={w.clients_after}", headers=HX),
    ),
    Stop(
        "invitations tab",
        "referrals.show",
        lambda c, w, t: c.get("/referral?tab=invitations", headers=HX),
    ),
    Stop(
        "share dialog", "invitations.dialog", lambda c, w, t: c.get("/referral/invite", headers=HX)
    ),
    Stop("personal link", "links.personal", lambda c, w, t: c.get(f"/r/{w.code}")),
    Stop(
        "send an invitation",
        "invitations.send",
        lambda c, w, t: c.post(
            "/referral/invite",
            data={
                "channel": "email",
                "recipient": f"friend{w.referrer}@example.ru",
                "consent": "y",
            },
            headers={**HX, "X-CSRFToken": t},
        ),
    ),
    Stop(
        "apply a code",
        "referrals.apply_code",
        lambda c, w, t: c.post(
            "/referral/apply", data={"code": w.code}, headers={**HX, "X-CSRFToken": t}
        ),
        before=_as(lambda w: f"c{w.newcomer}@example.ru"),
    ),
    Stop(
        "notice switch",
        "notices.save",
        lambda c, w, t: c.post(
            "/referral/notice", data={"notify": "y"}, headers={**HX, "X-CSRFToken": t}
        ),
    ),
    Stop(
        "join without a code",
        "referrals.join",
        lambda c, w, t: c.post("/referral/join", headers={**HX, "X-CSRFToken": t}),
        before=_as(lambda w: f"c{w.joiner}@example.ru"),
    ),
    Stop(
        "sign out",
        "auth.logout",
        lambda c, w, t: c.post("/logout", data={"csrf_token": t}),
        status=302,
    ),
    Stop(
        "API: client",
        "api.get_client",
        lambda c, w, t: c.get(f"/api/v1/clients/{w.referrer}", headers=_api(w)),
    ),
    Stop(
        "API: provision",
        "api.put_client",
        lambda c, w, t: c.put(
            f"/api/v1/clients/{w.referrer}",
            json={"name": f"Клиент {w.referrer}", "registered_at": "2023-01-01T00:00:00+03:00"},
            headers=_api(w),
        ),
    ),
    Stop(
        "API: discount",
        "api.discount",
        lambda c, w, t: c.get(f"/api/v1/clients/{w.referrer}/discount", headers=_api(w)),
    ),
    Stop(
        "API: invoice preview",
        "api.invoice",
        lambda c, w, t: c.post(
            f"/api/v1/clients/{w.referrer}/invoice-preview", json=INVOICE, headers=_api(w)
        ),
    ),
    Stop(
        "API: payment",
        "api.record_payment",
        lambda c, w, t: c.post(
            f"/api/v1/clients/{w.referrer + 1}/payments",  # a referee: its referrer settled
            json={"payment_id": "INV-1", "paid_at": "2023-03-31T11:00", "amount_kopecks": 150000},
            headers=_api(w),
        ),
    ),
    Stop(
        "API: closure",
        "api.close_contract",
        lambda c, w, t: c.post(
            f"/api/v1/clients/{w.referrer + 1}/closure",
            json={"closed_at": "2023-03-31T11:00"},
            headers=_api(w),
        ),
    ),
    Stop(
        "API: events",
        "api.events",
        lambda c, w, t: c.get("/api/v1/events?limit=50", headers=_api(w)),
    ),
    Stop(
        "API: program",
        "api.program_terms",
        lambda c, w, t: c.get("/api/v1/program", headers=_api(w)),
    ),
    Stop("API: OpenAPI", "api.openapi_document", lambda c, w, t: c.get("/api/v1/openapi.json")),
    Stop("manager sign-in form", "manage.login", lambda c, w, t: c.get("/manage/login")),
    Stop("manager home", "manage.dashboard_page", lambda c, w, t: c.get("/manage"), status=302),
    Stop("dashboard", "manage.dashboard", lambda c, w, t: c.get("/manage/dashboard")),
    Stop("dashboard CSV", "manage.dashboard_csv", lambda c, w, t: c.get("/manage/dashboard.csv")),
    Stop(
        "client lookup by id",
        "manage.clients",
        lambda c, w, t: c.get(f"/manage/clients?q={w.referrer}"),
    ),
    Stop(
        "client lookup by code",
        "manage.clients",
        lambda c, w, t: c.get(f"/manage/clients?q={w.code}"),
    ),
    Stop("client card", "manage.client", lambda c, w, t: c.get(f"/manage/clients/{w.referrer}")),
    Stop("audit log", "manage.audit_log", lambda c, w, t: c.get("/manage/audit")),
    Stop("terms", "terms.index", lambda c, w, t: c.get("/manage/terms")),
    Stop("new terms form", "terms.new", lambda c, w, t: c.get("/manage/terms/new")),
    Stop(
        "save new terms",
        "terms.new",
        lambda c, w, t: c.post(
            "/manage/terms/new", data={**_campaign("Новая акция"), "csrf_token": t}
        ),
        status=303,
    ),
    Stop(
        "terms draft with its preview",
        "terms.edit",
        lambda c, w, t: c.get(f"/manage/terms/{w.draft}"),
    ),
    Stop(
        "save a draft",
        "terms.edit",
        lambda c, w, t: c.post(
            f"/manage/terms/{w.draft}", data={**_campaign("Акция", w.campaign), "csrf_token": t}
        ),
        status=303,
    ),
    Stop(
        "publish terms",
        "terms.publish",
        lambda c, w, t: c.post(
            f"/manage/terms/{w.draft}/publish", data={"confirm": "yes", "csrf_token": t}
        ),
        status=303,
    ),
    Stop(
        "withdraw terms",
        "terms.withdraw",
        lambda c, w, t: c.post(
            f"/manage/terms/{w.draft}/withdraw", data={"confirm": "yes", "csrf_token": t}
        ),
        status=303,
    ),
    Stop(
        "finance report",
        "report.index",
        lambda c, w, t: c.get("/manage/report?month=2023-03"),
        _as_manager,
    ),
    Stop(
        "finance report CSV",
        "report.csv",
        lambda c, w, t: c.get("/manage/report.csv?month=2023-03"),
        _as_manager,
    ),
    Stop("webhooks", "webhooks.index", lambda c, w, t: c.get("/manage/webhooks"), _as_manager),
    Stop(
        "add a webhook subscriber",
        "webhooks.add",
        lambda c, w, t: c.post(
            "/manage/webhooks",
            data={"url": "https://erp.example.ru/hooks", "note": "ERP", "csrf_token": t},
        ),
        _as_manager,
    ),
    Stop(
        "webhook delivery log",
        "webhooks.log",
        lambda c, w, t: c.get(f"/manage/webhooks/{w.subscriber}"),
        _as_manager,
    ),
    Stop(
        "send webhooks again",
        "webhooks.replay",
        lambda c, w, t: c.post(
            f"/manage/webhooks/{w.subscriber}/replay",
            data={"from_event": str(w.event), "csrf_token": t},
        ),
        _as_manager,
        303,
    ),
    Stop(
        "remove a webhook subscriber",
        "webhooks.remove",
        lambda c, w, t: c.post(
            f"/manage/webhooks/{w.spare_subscriber}/remove", data={"csrf_token": t}
        ),
        _as_manager,
        303,
    ),
    Stop(
        "send failed invitations again",
        "manage.requeue_invitations",
        lambda c, w, t: c.post("/manage/invitations/requeue", data={"csrf_token": t}),
        status=303,
    ),
    Stop(
        "revoke a referral",
        "manage.revoke",
        lambda c, w, t: c.post(
            f"/manage/referrals/{w.referral_id}/revoke",
            data={"reason": "проверка", "csrf_token": t},
        ),
        status=302,
    ),
    Stop(
        "manager signs out",
        "manage.logout",
        lambda c, w, t: c.post("/manage/logout", data={"csrf_token": t}),
        status=302,
    ),
)

# Endpoints the tour does not call, and why. (The demo's pages, the blueprint «demo», are not
# registered outside demo mode: tests/web/test_manage.py.)
NOT_TOURED = {
    "static": "served by WhiteNoise before Flask (tests/web/test_serving.py)",
    "auth.demo_login": "demo mode only",
    "manage.apply_for_client": "the same service as «Применить» (referrals.apply_code)",
    "invitations.unsubscribe": "no database read before the confirmation; one write after",
    "invitations.refuse": "one invitation read by its unique token, one stop-list read; one "
    "write after the button (tests/web/test_refusal_link.py)",
    "callbacks.receipt": "a gateway's signed request: one locked row, one write (its own tests)",
    "callbacks.inbound": "a gateway's signed request: one write at most (its own tests)",
    "manage.open_cabinet": "one audit write; the cabinet it opens is the client's pages, toured",
    "manage.close_cabinet": "the sign-in check only (the open cabinet is in the session)",
    "auth.oidc_start_client": "OpenID Connect only: no database read (tests/web/test_oidc.py)",
    "auth.oidc_start_manager": "OpenID Connect only: no database read (tests/web/test_oidc.py)",
    "auth.oidc_callback": "OpenID Connect only: one client or manager read by its key",
}


def sign_in_for(client: FlaskClient, stop: Stop, world: World) -> str:
    """Sign `client` in as the one the stop is made by; its CSRF token ("" when no one)."""
    before = stop.before or SIGN_IN.get(owner_of(stop.endpoint))
    return "" if before is None else before(client, world)


def take(app: Flask, stop: Stop, world: World) -> list[tuple[str, object]]:
    """Make one call of the tour with a fresh browser; returns the statements it ran."""
    client = app.test_client()
    token = sign_in_for(client, stop, world)
    with recorded(app) as statements:
        response = stop.call(client, world, token)
    assert response.status_code == stop.status, (stop.name, response.status_code, response.text)
    return statements
