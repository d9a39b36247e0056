"""/api/v1: thin views. Input → service or query → JSON; every error is a problem detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from cabinet import conditional, guard, stamps
from cabinet.api import inputs, openapi, problems, schemas, tokens
from cabinet.api.problems import ApiProblem
from cabinet.billing import services as billing
from cabinet.billing.queries import invoice_preview
from cabinet.clients import errors as client_errors
from cabinet.clients.services import find_client, provision_client
from cabinet.clock import current_context
from cabinet.db import db
from cabinet.errors import ProgramRefusal
from cabinet.events.queries import feed
from cabinet.inputs import MAX_CONTENT_LENGTH
from cabinet.referrals import queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/"
WWW_AUTHENTICATE = 'Bearer realm="cabinet-api"'


def _json(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- authentication ------------------------------------------------------------------------


@bp.before_request
def authenticate() -> None:
    """Every endpoint but the OpenAPI document wants `Authorization: Bearer <token>` of a token
    with the endpoint's scope (`tokens.REQUIRED_SCOPE`; an endpoint missing there is closed)."""
    if request.endpoint == "api.openapi_document":
        return
    credentials = tokens.bearer(request.headers.get("Authorization", ""))
    if credentials is None:
        raise ApiProblem(
            problems.UNAUTHORIZED,
            "Нужен заголовок Authorization: Bearer <токен>. Токен выпускает оператор кабинета "
            "командой «flask api-tokens create ИМЯ --scope …».",
            headers={"WWW-Authenticate": WWW_AUTHENTICATE},
        )
    caller = tokens.authenticate(credentials)
    if caller is None:
        raise ApiProblem(
            problems.UNAUTHORIZED,
            "Токен не подошел: он неверен или отозван.",
            headers={"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'},
        )
    if request.endpoint is None:  # no such route: the routing error answers
        return
    needed = tokens.REQUIRED_SCOPE.get(request.endpoint)
    if needed is None or needed not in caller.scopes:
        scope = needed or "—"
        raise ApiProblem(
            problems.INSUFFICIENT_SCOPE,
            f"У токена «{caller.name}» нет права «{tokens.SCOPE_TITLES.get(scope, scope)}», "
            f"нужного для этого запроса. Выпустите токен с --scope {scope}.",
            headers={
                "WWW-Authenticate": (
                    f'{WWW_AUTHENTICATE}, error="insufficient_scope", scope="{scope}"'
                )
            },
        )


# ---- endpoints -----------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API (no token needed)."""
    return jsonify(openapi.document())


@bp.get("/program")
def program_terms() -> Response:
    """The terms in force at `at` (default: now), those after a running campaign, and the
    versions published to start later."""
    context = current_context()
    at = inputs.query(schemas.AtQuery, context.timezone).at or context.clock.now()
    schedule = queries.schedule()
    if not any(version.covers(at) for version in schedule.versions):
        # A moment before the program's first terms (or after its last): a bad `at`, not a 500.
        raise ApiProblem(
            problems.INVALID_PARAMETERS,
            "Параметр at: в этот момент условия программы не действовали.",
            errors=(problems.FieldError("условия программы не действовали", parameter="at"),),
        )
    return _json(schemas.Program.of(schedule, at).dump(context.timezone))


@bp.get("/clients/<client_id>")
def get_client(client_id: str) -> Response:
    """A client as provisioned."""
    cid = inputs.client_id(client_id)
    row = find_client(cid)
    return _json(schemas.Client.model_validate(row).dump(current_context().timezone))


@bp.put("/clients/<client_id>")
def put_client(client_id: str) -> Response:
    """Create or update a client (idempotent); closing is `"status": "closed"`."""
    cid = inputs.client_id(client_id)
    context = current_context()
    wanted = inputs.body(schemas.ClientInput, context.timezone)
    result = provision_client(context, wanted.client(cid))
    status = 201 if result.created else 200
    response = _json(schemas.Client.model_validate(result.client).dump(context.timezone), status)
    if result.created:
        response.headers["Location"] = url_for("api.get_client", client_id=cid)
    return response


@bp.get("/clients/<client_id>/discount")
def discount(client_id: str) -> Response:
    """The discount in force at `at` (default: now), its grants, what it never applies to."""
    cid = inputs.client_id(client_id)
    context = current_context()
    wanted = inputs.query(schemas.AtQuery, context.timezone).at

    def render() -> Response:
        at = wanted or context.clock.now()
        schedule = queries.schedule()
        terms = schedule.at(at)
        standing = queries.standing(cid, at, terms)
        if wanted is None:  # the answer depends on the clock: where it would change
            conditional.note_moments(*_moments(standing), *schedule.changes())
        return _json(schemas.Discount.of(standing, at, terms).dump(context.timezone))

    # Named by the client's and the program's change stamps (cabinet/stamps.py) and the minute.
    named_by = stamps.of_client(cid)
    return conditional.answer(str(request.endpoint), named_by, render, context.clock.now)


def _moments(standing: queries.Standing) -> list[datetime]:
    return [m for g in (*standing.in_force, *standing.upcoming) for m in (g.starts_at, g.ends_at)]


@bp.post("/clients/<client_id>/invoice-preview")
def invoice(client_id: str) -> Response:
    """Line items priced with the discount in force over their periods; SMS packages untouched."""
    cid = inputs.client_id(client_id)
    context = current_context()
    wanted = inputs.body(schemas.InvoiceRequest, context.timezone)
    lines = tuple(line.line() for line in wanted.lines)
    at, result = invoice_preview(context, cid, lines, wanted.at)
    return _json(schemas.Invoice.of(cid, at, result).dump(context.timezone))


@bp.post("/clients/<client_id>/payments")
def record_payment(client_id: str) -> Response:
    """Billing's payment (idempotent by `payment_id`): the same report again answers as the
    first time and changes nothing; may earn the referrer's reward that waited for it."""
    cid = inputs.client_id(client_id)
    context = current_context()
    wanted = inputs.body(schemas.PaymentInput, context.timezone)
    result = billing.record_payment(
        context, cid, wanted.payment_id, wanted.paid_at, wanted.amount_kopecks
    )
    response = _json(schemas.Payment.model_validate(result).dump(context.timezone))
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/clients/<client_id>/closure")
def close_contract(client_id: str) -> Response:
    """Billing's closure of the client's contract (idempotent): may take a reward back."""
    cid = inputs.client_id(client_id)
    context = current_context()
    wanted = inputs.body(schemas.ClosureInput, context.timezone)
    result = billing.close_contract(context, cid, wanted.closed_at)
    response = _json(schemas.Closure.model_validate(result).dump(context.timezone))
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/events")
def events() -> Response:
    """Events after the cursor `after`, oldest first, at most `limit`."""
    context = current_context()
    wanted = inputs.query(schemas.EventsQuery, context.timezone)
    page = schemas.EventPage.model_validate(feed(wanted.after, wanted.limit))
    return _json(page.dump(context.timezone))


# ---- errors --------------------------------------------------------------------------------


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem) -> Response:
    db.session.rollback()
    return problems.response(problem)


@bp.errorhandler(ProgramRefusal)
def _refusal(refusal: ProgramRefusal) -> Response:
    db.session.rollback()
    if isinstance(refusal, client_errors.ClientNotFound):
        kind = problems.CLIENT_NOT_FOUND
    elif isinstance(
        refusal,
        client_errors.EmailTaken | client_errors.ClientExists | client_errors.ClosedByBilling,
    ):
        kind = problems.CONFLICT
    elif isinstance(refusal, client_errors.PaymentConflict):
        kind = problems.PAYMENT_CONFLICT
    elif isinstance(refusal, client_errors.ClosureConflict):
        kind = problems.CLOSURE_CONFLICT
    else:
        kind = problems.VALIDATION_FAILED
    return problems.response(ApiProblem(kind, refusal.message))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return problems.response(_from_http(error))


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    if guard.database_is_down(error):
        return _database_down(error)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection; the answer matters more
        guard.mark_database_down()
    current_app.logger.exception("unexpected error in the API")
    return problems.response(
        ApiProblem(
            problems.INTERNAL_ERROR,
            "Внутренняя ошибка кабинета; ничего не изменилось. Повторите запрос позже.",
        )
    )


def _database_down(error: Exception) -> Response:
    """The database does not answer: 503 with Retry-After; the next request tries again."""
    current_app.logger.error("database unavailable: %s", type(error).__name__)
    guard.mark_database_down()
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the session is discarded anyway
        current_app.logger.debug("rollback failed on a dead connection")
    return problems.response(
        ApiProblem(
            problems.SERVICE_UNAVAILABLE,
            "База данных кабинета временно недоступна; ничего не изменилось. "
            "Повторите запрос позже.",
            headers={"Retry-After": str(guard.DATABASE_RETRY_AFTER_SECONDS)},
        )
    )


# The other refusals of the HTTP layer, in Russian (werkzeug's descriptions are English).
HTTP_DETAILS = {
    413: f"Тело запроса больше {MAX_CONTENT_LENGTH // 1024} КБ; запрос не выполнен.",
    429: "Слишком много запросов; повторите позже.",
}


def _from_http(error: HTTPException) -> ApiProblem:
    status = error.code or 500
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return ApiProblem(
            problems.METHOD_NOT_ALLOWED,
            f"Метод {request.method} здесь не поддерживается; можно: {allowed}.",
            headers={"Allow": allowed},
        )
    if status == 404:
        return ApiProblem(problems.NOT_FOUND, f"В API нет адреса {request.path}.")
    detail = HTTP_DETAILS.get(status, f"Запрос не выполнен (HTTP {status}).")
    return ApiProblem(problems.HTTP_ERROR, detail, status=status)


def _routing_error() -> Response | None:
    """A URL under /api/ that matched no endpoint (404, 405) gets a problem, not an HTML page.

    Registered for the whole app: Flask runs blueprint error handlers only for requests that
    reached the blueprint, and a routing error never does."""
    error = request.routing_exception
    if error is None or not request.path.startswith(PREFIX):
        return None
    if isinstance(error, RequestRedirect) or not isinstance(error, HTTPException):
        return None
    return problems.response(_from_http(error))


def init_app(app: Flask) -> None:
    """Register the blueprint, exempt from CSRF (bearer tokens, no cookies)."""
    from cabinet.extensions import csrf

    csrf.exempt(bp)
    app.before_request(_routing_error)
    app.register_blueprint(bp)
