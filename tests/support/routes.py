"""The route catalogue: every route the cabinet serves (outside demo mode), who it is for and a
valid request to it. The attack suite sends its corpus at each (tests/security/world.py aims it
at a small world), the tour signs in whom a route is for before counting its statements
(tests/web/tour.py), and both fail when the app's URL map and this catalogue differ: a new route
is described here once.

Path values are filled from a world when the request is made ({client}, {referral}, {draft})."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Flask

from cabinet.program.rules import values_of
from cabinet.referrals.rules import HELP_PAGE_TERMS

Role = Literal["anonymous", "client", "other_client", "manager", "api"]
Owner = Literal["anonymous", "client", "manager", "api"]

CLIENT_A, CLIENT_B, REFEREE = 501, 502, 503
MANAGER_EMAIL = "sec-manager@example.ru"


@dataclass(frozen=True)
class Route:
    """How to reach one endpoint: who it is for, the method, and the valid input (every
    attack replaces one value of it)."""

    owner: Owner
    method: str
    form: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    path: dict[str, str] = field(default_factory=dict)
    changes_data: bool = False  # a valid request may change the database
    # Fields read by the same code as another field of the form (the terms editor's whole
    # numbers): they get the corpus's sample, the first of each kind the whole corpus.
    alike: frozenset[str] = frozenset()
    # A write it makes leaves the actor signed in and able to repeat it (a saved draft): no
    # need to sign in afresh after one.
    keeps_session: bool = False


# A draft of the terms as the editor posts it: the help page's numbers, as a week's campaign.
_CAMPAIGN = values_of(HELP_PAGE_TERMS, "Акция", "2023-04-10T00:00", "2023-04-17T00:00")
# The whole corpus goes to one field of each kind the editor reads (the title, the moments, a
# whole number, a level's percent, an optional pack); the other whole numbers and the later
# levels are read by the same code and get the sample.
_FIRST_OF_EACH_KIND = {
    "title",
    "effective_from",
    "ends_at",
    "referee_percent",
    "level-1-percent",
    "level-1-sms_pack",
}
_READ_ALIKE = frozenset(name for name in _CAMPAIGN if name not in _FIRST_OF_EACH_KIND)

ROUTES: dict[tuple[str, str], Route] = {
    ("shell.index", "GET"): Route("anonymous", "GET"),
    ("health.healthz", "GET"): Route("anonymous", "GET"),
    ("health.readyz", "GET"): Route("anonymous", "GET"),
    ("observability.exposition", "GET"): Route("anonymous", "GET"),
    # Sign-in through the identity provider (none configured in the test app: refused).
    ("auth.oidc_start_client", "GET"): Route("anonymous", "GET"),
    ("auth.oidc_start_manager", "GET"): Route("anonymous", "GET"),
    ("auth.oidc_callback", "GET"): Route("anonymous", "GET", query={"code": "c", "state": "s"}),
    ("static", "GET"): Route("anonymous", "GET", path={"filename": "cabinet.css"}),
    ("auth.login", "GET"): Route("anonymous", "GET", query={"next": "/referral"}),
    ("auth.login", "POST"): Route(
        "anonymous",
        "POST",
        form={"email": "c501@example.ru", "password": "не тот пароль"},
        query={"next": "/referral"},
    ),
    ("auth.demo_login", "POST"): Route("anonymous", "POST", path={"client_id": "{client}"}),
    ("auth.logout", "POST"): Route("client", "POST", changes_data=True),
    ("referrals.show", "GET"): Route("client", "GET", query={"tab": "clients", "after": ""}),
    ("referrals.apply_code", "POST"): Route(
        "client", "POST", form={"code": "abcdefabc"}, changes_data=True
    ),
    ("referrals.join", "POST"): Route("client", "POST", changes_data=True),
    ("notices.save", "POST"): Route("client", "POST", form={"notify": "y"}, changes_data=True),
    ("invitations.dialog", "GET"): Route("client", "GET", query={"channel": "sms", "part": "form"}),
    ("invitations.send", "POST"): Route(
        "client",
        "POST",
        form={"channel": "email", "recipient": "friend@example.ru", "consent": "y"},
        changes_data=True,
    ),
    ("invitations.unsubscribe", "GET"): Route("anonymous", "GET", path={"token": "not-a-token"}),
    # The personal link: public; an unknown code here (client A's own page names A, by design:
    # tests/web/test_personal_link.py checks it shows nothing else of A).
    ("links.personal", "GET"): Route("anonymous", "GET", path={"code": "abcdefabc"}),
    ("invitations.unsubscribe", "POST"): Route(
        "anonymous", "POST", path={"token": "not-a-token"}, changes_data=True
    ),
    # Signed by the gateway, no session (the attack app has no callback secret: all refused).
    ("callbacks.receipt", "POST"): Route(
        "anonymous", "POST", form={"key": "k", "status": "delivered"}, changes_data=True
    ),
    ("callbacks.inbound", "POST"): Route(
        "anonymous", "POST", form={"from": "+79101234567", "text": "СТОП"}, changes_data=True
    ),
    ("manage.login", "GET"): Route("anonymous", "GET", query={"next": "/manage/clients"}),
    ("manage.login", "POST"): Route(
        "anonymous",
        "POST",
        form={"email": MANAGER_EMAIL, "password": "не тот пароль"},
        query={"next": "/manage/clients"},
    ),
    ("manage.logout", "POST"): Route("manager", "POST", changes_data=True),
    ("manage.dashboard_page", "GET"): Route("manager", "GET"),
    ("manage.dashboard", "GET"): Route("manager", "GET"),
    ("manage.dashboard_csv", "GET"): Route("manager", "GET"),
    ("manage.audit_log", "GET"): Route("manager", "GET"),
    ("manage.clients", "GET"): Route("manager", "GET", query={"q": "501"}),
    ("manage.client", "GET"): Route("manager", "GET", path={"client_id": "{client}"}),
    ("manage.apply_for_client", "POST"): Route(
        "manager",
        "POST",
        form={"code": "abcdefabc", "reason": "по просьбе клиента"},
        path={"client_id": "{other_client}"},
        changes_data=True,
    ),
    # (The demo's pages — «Сценарии», the time machine, «Сбросить демо» — are registered only
    # in demo mode, which the test app is not in: tests/web/test_manage.py.)
    ("manage.requeue_invitations", "POST"): Route("manager", "POST", changes_data=True),
    # «Открыть как клиент» (the test manager has no right to it: refused, one flash) and back.
    ("manage.open_cabinet", "POST"): Route(
        "manager",
        "POST",
        form={"next": "/manage/clients"},
        path={"client_id": "{client}"},
    ),
    ("manage.close_cabinet", "POST"): Route("manager", "POST"),
    ("manage.revoke", "POST"): Route(
        "manager",
        "POST",
        form={"reason": "проверка"},
        path={"referral_id": "{referral}"},
        changes_data=True,
    ),
    ("terms.index", "GET"): Route("manager", "GET"),
    ("terms.new", "GET"): Route("manager", "GET"),
    ("terms.new", "POST"): Route(
        "manager",
        "POST",
        form=_CAMPAIGN,
        changes_data=True,
        alike=_READ_ALIKE,
        keeps_session=True,
    ),
    ("terms.edit", "GET"): Route("manager", "GET", path={"version": "{draft}"}),
    ("terms.edit", "POST"): Route(
        "manager",
        "POST",
        form=_CAMPAIGN,
        path={"version": "{draft}"},
        changes_data=True,
        alike=_READ_ALIKE,
        keeps_session=True,
    ),
    ("terms.publish", "POST"): Route(
        "manager", "POST", form={"confirm": "yes"}, path={"version": "{draft}"}, changes_data=True
    ),
    ("terms.withdraw", "POST"): Route(
        "manager", "POST", form={"confirm": "yes"}, path={"version": "{draft}"}, changes_data=True
    ),
    ("api.program_terms", "GET"): Route("api", "GET", query={"at": "2023-03-31T12:00"}),
    ("api.openapi_document", "GET"): Route("anonymous", "GET"),
    ("api.get_client", "GET"): Route("api", "GET", path={"client_id": "{client}"}),
    ("api.put_client", "PUT"): Route(
        "api",
        "PUT",
        json={
            "name": "Клиент 777",
            "registered_at": "2023-03-20",
            "promo_until": None,
            "email": "c777@example.ru",
            "phone": "+79101234567",
            "status": "active",
        },
        path={"client_id": "777"},
        changes_data=True,
    ),
    ("api.discount", "GET"): Route(
        "api", "GET", query={"at": "2023-03-31T12:00"}, path={"client_id": "{client}"}
    ),
    ("api.invoice", "POST"): Route(
        "api",
        "POST",
        json={
            "at": "2023-03-31T12:00",
            "lines": [
                {
                    "kind": "service",
                    "amount": 100000,
                    "description": "АТС",
                    "period": {"first_day": "2023-04-01", "last_day": "2023-04-30"},
                }
            ],
        },
        path={"client_id": "{client}"},
    ),
    ("api.events", "GET"): Route("api", "GET", query={"after": "0", "limit": "10"}),
}


def routes_of(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, method) for every rule in the URL map."""
    found = set()
    for rule in app.url_map.iter_rules():
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((rule.endpoint, method))
    return sorted(found)


def route_for(app: Flask, endpoint: str, method: str) -> Route:
    """The described route (`app`: the old signature's, unused)."""
    if (endpoint, method) not in ROUTES:
        raise LookupError(f"{method} {endpoint} is not described in tests/support/routes.py")
    return ROUTES[(endpoint, method)]


def owner_of(endpoint: str) -> Owner:
    """Whom an endpoint is for (the same for each of its methods)."""
    owners = {route.owner for (name, _), route in ROUTES.items() if name == endpoint}
    assert len(owners) == 1, f"{endpoint}: {owners or 'not in the catalogue'}"
    return owners.pop()
