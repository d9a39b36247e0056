"""The referral page: one URL for the page and its tabs, two forms that post."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from cabinet import limits
from cabinet import referral_page as page
from cabinet.auth.roles import client_action, client_required, current_client, current_client_id
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal
from cabinet.htmx import render, retarget, wants_fragment
from cabinet.invitations import attribution
from cabinet.referrals import queries, rules, services
from cabinet.referrals.forms import ApplyCodeForm, JoinForm
from cabinet.referrals.terms import words
from cabinet.web import links, notices, seen
from cabinet.web.acting import audit_hook

bp = Blueprint("referrals", __name__, url_prefix="/referral")
TEMPLATE = "referrals/page.html"


def _cursor(after: str | None) -> queries.Cursor | None:
    try:
        return page.decode_cursor(after)
    except page.BadCursor:
        abort(400)


def _page(tab: page.Tab = "history", after: str | None = None) -> page.ReferralPage:
    """The whole page, for the client already loaded by the sign-in check."""
    context = current_context()
    return page.build(
        current_client(),
        context.clock.now(),
        context.timezone,
        tab,
        _cursor(after),
        current_app.config["PAGE_SIZE"],
    )


def _tab(tab: page.Tab, after: str | None) -> page.TabPanel:
    """Only the tab a fragment swaps in: nothing is computed for blocks it does not show."""
    context = current_context()
    return page.build_tab(
        current_client_id(),
        context.clock.now(),
        context.timezone,
        tab,
        _cursor(after),
        current_app.config["PAGE_SIZE"],
    )


def _tab_arg() -> page.Tab:
    tab = request.args.get("tab")
    if tab == "clients":
        return "clients"
    if tab == "invitations":
        return "invitations"
    return "history"


@bp.get("")
@client_required
def show() -> Response:
    """«Реферальная программа»; with htmx, only the tabs (a tab or a page of one). Named by
    what it shows (cabinet/web/seen.py): a 304 or the kept page when nothing changed."""
    return seen.member_answer(_show)


def _show() -> Response:
    tab, after = _tab_arg(), request.args.get("after")
    if wants_fragment():
        return render(TEMPLATE, "tabs", view=_tab(tab, after))
    view = _page(tab, after)
    # A code a /r/ link left in this browser waits in the field; only «Применить» applies it.
    pending = links.pending_code() if view.can_apply else None
    waiting = pending is not None and pending != view.code
    # The field is shown only to a client who can still apply (`view.can_apply`, which a
    # waiting code implies); the join button's form is the token alone (partials/_forms.html).
    form = None
    if view.can_apply:
        form = ApplyCodeForm(code=pending) if waiting else ApplyCodeForm()
    return render(
        TEMPLATE,
        "tabs",
        view=view,
        apply_form=form,
        code_waiting=waiting,
        notice_switch=notices.shown(view.notify_applied),  # read with the standing
    )


@bp.post("/apply")
@client_required
@limits.apply_code_limits
@client_action
def apply_code() -> Response | BaseResponse:
    """«Применить»: apply a friend's code (joining the program if need be)."""
    form = ApplyCodeForm()
    if form.validate_on_submit():
        audit = audit_hook("cabinet_apply_code", code=form.code.data)
        left = links.pending()
        prefilled = left is not None and rules.normalise_code(form.code.data or "") == left.code

        def before_commit(result: services.JoinResult) -> None:
            if audit is not None:
                audit(result)
            if prefilled and left is not None:  # the code a /r/ link left: its channel
                attribution.record_link(result.client_id, left.via)

        try:
            result = services.join(
                current_context(), current_client_id(), form.code.data, before_commit=before_commit
            )
        except ProgramRefusal as refusal:
            form.code.errors = [refusal.message]
        else:
            terms = result.terms
            assert terms is not None  # noqa: S101 - applying a code always names its terms
            flash(
                f"Код применен: вы получили скидку {words(terms).referee_percent} на "
                f"{words(terms).referee_for}. "
                f"Ваш код для приглашения: {result.code}",
                "success",
            )
            return links.forget_code(_after_change())
    response = render(TEMPLATE, "apply_form", 422, view=_page(), apply_form=form)
    return retarget(response, "#apply-form")


@bp.post("/join")
@client_required
@client_action
def join() -> Response | BaseResponse:
    """«У меня нет кода»: join without a code."""
    form = JoinForm()
    if form.validate_on_submit():
        try:
            result = services.join(
                current_context(), current_client_id(), before_commit=audit_hook("cabinet_join")
            )
        except ProgramRefusal as refusal:
            flash(refusal.message, "error")
        else:
            flash(f"Вы участвуете в программе. Ваш код для приглашения: {result.code}", "success")
    return _after_change()


def _after_change() -> Response | BaseResponse:
    """Post/redirect/get for a plain form; for htmx, the refreshed program in place."""
    if wants_fragment():
        return render(
            TEMPLATE,
            "program",
            view=_page(),
            apply_form=ApplyCodeForm(formdata=None),
        )
    return redirect(url_for("referrals.show"), 303)
