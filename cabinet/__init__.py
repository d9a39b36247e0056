"""The referral program of the «Корпоративная АТС» customer cabinet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from cabinet import conditional, config, guard, htmx, limits, logs, passwords, stamps
from cabinet.clock import Clock, Context, SystemClock
from cabinet.db import db, engine_options, init_engine
from cabinet.demo.clock import DemoClock
from cabinet.extensions import migrate
from cabinet.guard import InsecureConfiguration

__all__ = ["InsecureConfiguration", "create_app"]


def create_app(
    test_config: Mapping[str, Any] | None = None, *, clock: Clock | None = None
) -> Flask:
    """The app factory: settings from the environment (or `test_config`), then extensions.

    `clock` replaces the system clock (tests; the demo time machine)."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_mapping(config.from_environment())
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    logs.configure(app.config["LOG_FORMAT"])
    guard.settle_secret_key(app)
    guard.refuse_development_keys(app)
    guard.refuse_unshared_limits(app)
    guard.install_converters(app)
    _refuse_cheap_password_hashes_outside_tests(app)

    if clock is None:
        # In demo mode the time machine moves the clock; otherwise it is the system's.
        clock = DemoClock() if app.config["DEMO_MODE"] else SystemClock()
    app.extensions["context"] = Context(clock, ZoneInfo(app.config["CABINET_TIMEZONE"]))

    db.init_app(app)
    init_engine(app)
    stamps.install()  # every write changes the stamps of those who see it (cabinet/stamps.py)
    migrate.init_app(
        app, db, directory=str(config.PROJECT_ROOT / "migrations"), render_as_batch=True
    )

    # The models must be imported for Flask-Migrate to see them.
    from cabinet import observability, revisits
    from cabinet.api import models as _api  # noqa: F401
    from cabinet.api import views as api_views
    from cabinet.api.cli import api_tokens_cli
    from cabinet.audit import models as _audit  # noqa: F401
    from cabinet.auth import models as _auth  # noqa: F401
    from cabinet.clients import models as _clients  # noqa: F401
    from cabinet.clients.cli import clients_cli
    from cabinet.demo import models as _demo  # noqa: F401
    from cabinet.demo.cli import demo_cli
    from cabinet.events import models as _events  # noqa: F401
    from cabinet.finance.cli import program_cli
    from cabinet.invitations import attribution as invitation_attribution
    from cabinet.invitations import models as _invitations  # noqa: F401
    from cabinet.invitations import notices as invitation_notices
    from cabinet.invitations.cli import invitations_cli
    from cabinet.invitations.settings import InvitationSettings
    from cabinet.manage.cli import managers_cli
    from cabinet.manage.demo import bp as demo_bp
    from cabinet.manage.report import bp as report_bp
    from cabinet.manage.terms import bp as terms_bp
    from cabinet.manage.views import bp as manage_bp
    from cabinet.manage.webhooks import bp as webhooks_bp
    from cabinet.referrals import models as _referrals  # noqa: F401
    from cabinet.referrals import services as referral_services
    from cabinet.referrals.cli import referral_cli
    from cabinet.web import callbacks as gateway_callbacks
    from cabinet.web import health, serving, shell
    from cabinet.web import notices as web_notices
    from cabinet.web import observability as web_observability
    from cabinet.web.auth import bp as auth_bp
    from cabinet.web.invitations import bp as invitations_bp
    from cabinet.web.links import bp as links_bp
    from cabinet.web.referrals import bp as referrals_bp
    from cabinet.webhooks import models as _webhooks  # noqa: F401
    from cabinet.webhooks.cli import webhooks_cli
    from cabinet.webhooks.settings import WebhookSettings

    observability.init_app(app)
    web_observability.init_app(app)  # first of the request hooks (the request id)
    htmx.init_app(app)
    conditional.init_app(app)
    guard.init_app(app)  # before the shell: its input check runs before CSRF reads the form
    shell.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(referrals_bp)
    api_views.init_app(app)
    app.extensions["invitations"] = InvitationSettings.from_config(app.config)
    app.extensions["webhooks"] = WebhookSettings.from_config(app.config)
    # The referrer's notice «Клиент … применил ваш код», queued in the activation's transaction.
    referral_services.on_activation(invitation_notices.on_activation)
    # The channel that brought the code, kept for the dashboard's conversion by channel.
    referral_services.on_activation(invitation_attribution.on_activation)
    limits.configure(app)
    app.register_blueprint(invitations_bp)
    web_notices.init_app(app)
    gateway_callbacks.init_app(app)
    app.register_blueprint(links_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(terms_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(report_bp)
    if app.config["DEMO_MODE"]:  # «Сценарии», the time machine, «Сбросить демо»
        app.register_blueprint(demo_bp)
    app.register_blueprint(health.bp)
    revisits.install(app)  # a repeated read's 304 before Flask (inside the static files)
    serving.init_app(app)
    web_observability.install(app)  # outermost: one log line for every request
    app.cli.add_command(managers_cli)
    app.cli.add_command(invitations_cli)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(program_cli)

    app.cli.add_command(clients_cli)
    app.cli.add_command(api_tokens_cli)
    app.cli.add_command(referral_cli)
    app.cli.add_command(demo_cli)
    return app


def _refuse_cheap_password_hashes_outside_tests(app: Flask) -> None:
    method = app.config["PASSWORD_HASH_METHOD"]
    if method != passwords.PRODUCTION_METHOD and not app.config["TESTING"]:
        raise InsecureConfiguration(
            f"Пароли хешируются только {passwords.PRODUCTION_METHOD}; "
            f"метод {method} допустим лишь в тестах."
        )
