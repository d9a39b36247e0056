"""Guessing is throttled: refused codes per client and per IP, refused sign-ins per account
and per IP (clients and managers alike), invitations per member, IP and recipient. A limit
answers 429 with a Russian «try again in …» and Retry-After, for htmx too; the counters are
shared by every process through Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from cabinet.auth.services import create_manager
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.referrals import errors, services
from cabinet.referrals.models import Member
from tests.conftest import msk
from tests.web.conftest import PASSWORD, outside_requests, web_client

HX = {"HX-Request": "true"}
REDIS_URL = "redis://127.0.0.1:6379/15"
WRONG_CODE = "abcdefabc"


def limited(make_app: Callable[..., Flask], **limits: str) -> Flask:
    return make_app(
        WTF_CSRF_ENABLED=False,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        CABINET_TIMEZONE="Europe/Moscow",
        **limits,
    )


def sign_in(web: FlaskClient, email: str, password: str = PASSWORD) -> int:
    return web.post("/login", data={"email": email, "password": password}).status_code


def assert_429(response: object) -> None:
    assert response.status_code == 429  # type: ignore[attr-defined]
    retry_after = int(response.headers["Retry-After"])  # type: ignore[attr-defined]
    assert 0 < retry_after <= 3600
    text = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Попробуйте снова через" in text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]  # type: ignore[attr-defined]


def test_applying_codes_is_limited_per_client(
    app: Flask, make_app: Callable[..., Flask], context: Context
) -> None:
    """≈10 000 wrong codes a minute went through before; now the 11th refusal in an hour is
    a 429 and the service is not even asked."""
    other = limited(make_app, APPLY_CODE_FAILURE_LIMIT="10 per hour")
    email = web_client(app, 9301, registered_at=msk("2023-03-25 09:00"))
    web = other.test_client()
    assert sign_in(web, email) == 302
    guesses = [f"abcdefa{n:02d}" for n in range(12)]  # a new code each time
    codes = [web.post("/referral/apply", data={"code": c}).status_code for c in guesses[:10]]
    assert codes == [422] * 10
    assert_429(web.post("/referral/apply", data={"code": guesses[10]}))
    hx = web.post("/referral/apply", data={"code": guesses[11]}, headers=HX)
    assert_429(hx)
    assert hx.headers["HX-Retarget"] == "#alerts"  # the message shows on the page


def test_a_client_with_the_right_code_first_time_never_meets_the_limit(
    app: Flask, make_app: Callable[..., Flask], context: Context
) -> None:
    other = limited(make_app, APPLY_CODE_FAILURE_LIMIT="1 per hour")
    web_client(app, 9310, registered_at=msk("2023-03-01 09:00"))
    with outside_requests(app):
        code = services.join(context.at(msk("2023-03-01 10:00")), 9310).code
    # The limited app runs on the system clock: a client registered yesterday.
    email = web_client(app, 9311, registered_at=datetime.now(UTC) - timedelta(days=1))
    web = other.test_client()
    assert sign_in(web, email) == 302
    assert web.post("/referral/apply", data={"code": code}).status_code == 303


def test_applying_codes_is_limited_per_ip_across_clients(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    other = limited(make_app, APPLY_CODE_IP_FAILURE_LIMIT="4 per hour")
    statuses = []
    for client_id in (9321, 9322, 9323):
        web = other.test_client()
        assert sign_in(web, web_client(app, client_id)) == 302
        for n in range(2):
            guess = f"abcdef{client_id}{n}"[-9:]
            statuses.append(web.post("/referral/apply", data={"code": guess}).status_code)
    assert statuses[:4] == [422] * 4
    assert set(statuses[4:]) == {429}


def test_no_refusal_tells_whether_a_code_exists(app: Flask, context: Context) -> None:
    """A client that can apply no code (already applied, window over) hears the same answer
    for a real code as for a made-up one; an eligible client hears «код не найден» for any
    code that is not its to use (unknown, owner closed, owner its own referee)."""
    with outside_requests(app):
        from tests.factories import make_client, make_member

        real = make_member(context, 9331, msk("2023-03-01 09:00"))
        closed = make_member(context, 9332, msk("2023-03-01 09:00"))
        db.session.execute(update(Client).where(Client.id == 9332).values(status="closed"))
        db.session.commit()
        make_client(9333, registered_at=msk("2023-03-20 09:00"))
        services.join(context.at(msk("2023-03-25 10:00")), 9333, real)  # applied already
        make_client(9334, registered_at=msk("2023-01-01 09:00"))  # window over
        make_client(9335, registered_at=msk("2023-03-20 09:00"))  # eligible
        eligible_member = make_member(context, 9336, msk("2023-03-21 09:00"))
        make_client(9337, registered_at=msk("2023-03-20 09:00"))
        services.join(context.at(msk("2023-03-26 10:00")), 9337, eligible_member)
        now = context.at(msk("2023-03-31 12:00"))

        def refusal(client_id: int, code: str) -> str:
            with pytest.raises(errors.ProgramRefusal) as caught:
                services.join(now, client_id, code)
            return caught.value.message

        for client_id in (9333, 9334):
            assert refusal(client_id, real) == refusal(client_id, WRONG_CODE)
            assert refusal(client_id, closed) == refusal(client_id, WRONG_CODE)
        not_found = errors.CodeNotFound().message
        assert refusal(9335, WRONG_CODE) == not_found
        assert refusal(9335, closed) == not_found
        # 9337 joined through 9336's code: 9336 may not apply 9337's code (a cycle), and is
        # told no more than for an unknown code.
        code_9337 = db.session.get(Member, 9337).code
        assert refusal(9336, code_9337) == not_found


def test_sign_in_is_limited_per_account_even_with_the_right_password(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    other = limited(make_app, LOGIN_ACCOUNT_FAILURE_LIMIT="5 per minute;10 per hour")
    email = web_client(app, 9341)
    web = other.test_client()
    assert [sign_in(web, email, "wrong") for _ in range(5)] == [422] * 5
    assert_429(web.post("/login", data={"email": email, "password": PASSWORD}))
    # Another account from the same address is not locked by this one's guesses.
    assert sign_in(other.test_client(), web_client(app, 9342)) == 302


def test_sign_in_is_limited_per_ip_across_accounts(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    other = limited(make_app, LOGIN_IP_FAILURE_LIMIT="6 per minute")
    web = other.test_client()
    statuses = [sign_in(web, f"nobody{n}@example.ru", "wrong") for n in range(8)]
    assert statuses[:6] == [422] * 6
    assert statuses[6:] == [429, 429]


def test_manager_and_client_forms_count_apart(app: Flask, make_app: Callable[..., Flask]) -> None:
    """Wrong passwords at the managers' form lock that form for that address; the clients'
    form keeps its own count (tests/security/test_limits_hold.py: nor the other way round)."""
    with outside_requests(app):
        create_manager("ops9351@example.ru", PASSWORD, "Ольга", datetime.now(UTC))
    other = limited(make_app, LOGIN_ACCOUNT_FAILURE_LIMIT="3 per minute")
    web = other.test_client()
    for _ in range(3):
        response = web.post(
            "/manage/login", data={"email": "ops9351@example.ru", "password": "wrong"}
        )
        assert response.status_code == 422
    assert_429(
        web.post("/manage/login", data={"email": "ops9351@example.ru", "password": PASSWORD})
    )
    client_form = web.post("/login", data={"email": "ops9351@example.ru", "password": "wrong"})
    assert client_form.status_code == 422


def test_invitations_are_limited_per_member_and_per_recipient(
    app: Flask, make_app: Callable[..., Flask], context: Context
) -> None:
    other = limited(
        make_app, INVITE_MEMBER_RATE_LIMIT="3 per minute", INVITE_RECIPIENT_RATE_LIMIT="1 per hour"
    )
    web_client(app, 9361, registered_at=msk("2023-03-01 09:00"))
    with outside_requests(app):
        services.join(context.at(msk("2023-03-02 09:00")), 9361)
    web = other.test_client()
    assert sign_in(web, "c9361@example.ru") == 302

    def invite(to: str) -> int:
        data = {"channel": "email", "recipient": to, "consent": "y"}
        return web.post("/referral/invite", data=data).status_code

    assert invite("same@example.ru") == 303  # accepted: the recipient's one an hour
    assert invite("same@example.ru") == 429
    others = [invite(f"other{n}@example.ru") for n in range(3)]
    assert others[-1] == 429  # the member's 3 per minute


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis на 127.0.0.1:6379 недоступен: общие счетчики ПРОПУЩЕНЫ")


def test_two_servers_share_the_counters_through_redis(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    """Two app instances (as two gunicorn workers or two servers) count together."""
    redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}"
    servers = [
        make_app(
            WTF_CSRF_ENABLED=False,
            RATELIMIT_STORAGE_URI=REDIS_URL,
            RATELIMIT_KEY_PREFIX=prefix,
            LOGIN_ACCOUNT_FAILURE_LIMIT="4 per minute",
        )
        for _ in range(2)
    ]
    email = web_client(app, 9371)
    statuses = [sign_in(servers[n % 2].test_client(), email, "wrong") for n in range(6)]
    assert statuses == [422, 422, 422, 422, 429, 429]
    keys = redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*")
    assert keys
    redis.Redis.from_url(REDIS_URL).delete(*keys)


def test_every_limit_counts_changes_only(app: Flask) -> None:
    """Reads skip the limiter altogether (`limits.READ_METHODS`): a limit declared on a
    read would be silently off, so none may be."""
    from cabinet.limits import DECLARED, READ_METHODS

    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        declared = DECLARED.get(f"{view.__module__}.{view.__qualname__}")
        for limit in declared.limits if declared else ():
            # Flask adds OPTIONS (and HEAD beside GET) to every rule by itself.
            methods = limit.methods or (rule.methods or set()) - {"OPTIONS", "HEAD"}
            counted = {m.upper() for m in methods}
            assert not counted & READ_METHODS, (rule.rule, sorted(counted))
            checked += 1
    assert checked >= 11  # apply (2), sign-in twice (3 each), invite (3)


def test_no_limit_needs_the_check_before_every_request(app: Flask) -> None:
    """Flask-Limiter's check before each request (on changes: reads are filtered out) finds
    nothing to count: limits of the whole app, defaults or blueprint limits, and there are
    none; every limit is a view's own, checked by its decorator."""
    from cabinet.limits import app_limits

    with app.test_request_context("/referral", method="POST"):
        manager = app_limits().limiter.limit_manager
        assert manager.application_limits == []
        assert manager.default_limits == []
        assert all(not manager.blueprint_limits(app, bp) for bp in app.blueprints)


def test_each_app_counts_with_a_limiter_of_its_own(make_app: Callable[..., Flask]) -> None:
    """Two apps of one process (as the tests make them) never share a limiter, a storage or a
    fallback, whatever their settings; two processes share counters through Redis on purpose."""
    from cabinet.limits import app_limits

    first, second = make_app(), make_app()
    with first.app_context():
        mine = app_limits()
    with second.app_context():
        theirs = app_limits()
    assert mine.limiter is not theirs.limiter
    assert mine.limiter.storage is not theirs.limiter.storage
    assert mine.memory is not theirs.memory
