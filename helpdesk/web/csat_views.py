"""Satisfaction in the web UI: the customers' rating page the solved email links to
(public, in the customer's language), and staff noting a rating on the conversation page.

The email's links open the page with the rating chosen; only the page's button records it
(a POST): mail scanners and link previews that open links record nothing.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from helpdesk.auth.guard import public, requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation
from helpdesk.orm import utcnow
from helpdesk.services import csat
from helpdesk.services.outbox import MailPolicy, customer_locale
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action

RATING_LABELS = {1: _l("Very dissatisfied"), 2: _l("Dissatisfied"),
                 3: _l("Neither satisfied nor dissatisfied"), 4: _l("Satisfied"),
                 5: _l("Very satisfied")}
PAGE_ERRORS = {"link_expired": _l("This link has expired: rating links work for 7 days."),
               "not_found": _l("This link is not one we sent. Check that it was copied whole."),
               "rating_locked": _l("Your rating can no longer be changed: answers can be "
                                   "changed for 7 days."),
               "conflict": _l("This request cannot be rated yet: it is not solved."),
               "validation_failed": _l("Please choose a rating from 1 to 5 (and keep the "
                                       "comment under 2000 characters).")}


@bp.app_template_global()
def rating_label(rating: int) -> str:
    return str(RATING_LABELS.get(rating, rating))


@bp.app_template_global()
def csat_open(conversation: Conversation) -> bool:
    """Whether a rating may be given, or the one given changed, now."""
    return csat.may_rate(conversation, utcnow())


@bp.get(csat.RATING_PATH + "<token>")
@public
def rating_page(token: str) -> ResponseReturnValue:
    """The rating form, the email's choice ticked (``?rating=``), or the answer given."""
    try:
        conversation = _linked(token)
    except DomainError as exc:
        return _error_page(exc)
    with force_locale(_language(conversation)):
        return _page(conversation, token, chosen=request.args.get("rating", type=int))


@bp.post(csat.RATING_PATH + "<token>")
@public
def rate_from_link(token: str) -> ResponseReturnValue:
    """Record the customer's rating and comment, then show the page again (PRG)."""
    try:
        conversation = _linked(token)
        with unit_of_work() as uow:
            csat.rate(uow, Actor("customer", conversation.customer_id), conversation.id,
                      rating=_form_rating(), comment=request.form.get("comment", ""))
    except DomainError as exc:
        return _error_page(exc, token)
    return redirect(url_for("web.rating_page", token=token, done=1))


@bp.post("/conversations/<int:conversation_id>/csat")
@requires(Permission.CONVERSATIONS_WRITE)
def note_rating(conversation_id: int) -> ResponseReturnValue:
    """Staff note the customer's rating for them (said on the phone, in a reply…)."""
    def note(uow):
        csat.rate(uow, current_actor(), conversation_id, rating=_form_rating(),
                  comment=request.form.get("comment", ""))
    return run_action(note, _("Rating saved."),
                      url_for("web.conversation", conversation_id=conversation_id) + "#csat")


def _linked(token: str) -> Conversation:
    return csat.conversation_of(db.session, current_app.config["SECRET_KEY"], token)


def _form_rating() -> int:
    value = request.form.get("rating", "")
    if not value.isdigit():
        raise ValidationFailed("choose a rating from 1 to 5", field="rating")
    return int(value)


def _language(conversation: Conversation) -> str:
    policy = MailPolicy.from_settings(current_app.config["COMPTOIR"])
    return customer_locale(db.session, policy, conversation)


def _page(conversation: Conversation, token: str, *, chosen: int | None = None,
          error: str | None = None, status: int = 200) -> ResponseReturnValue:
    chosen = chosen if chosen in csat.RATINGS else conversation.csat_rating
    return render_template(
        "web/rate.html", conversation=conversation, token=token, chosen=chosen,
        comment=request.form.get("comment", conversation.csat_comment), error=error,
        done=request.args.get("done") == "1", open=csat.may_rate(conversation, utcnow()),
        editable_until=csat.editable_until(conversation), ratings=RATING_LABELS), status


def _error_page(exc: DomainError, token: str | None = None) -> ResponseReturnValue:
    """The form again with what went wrong, or, without a conversation, the reason alone."""
    conversation = _linked_or_none(token)
    settings = current_app.config["COMPTOIR"]
    language = _language(conversation) if conversation else request.accept_languages.best_match(
        settings.languages, default=settings.default_locale)
    with force_locale(language):
        error = str(PAGE_ERRORS.get(exc.code, exc.message))
        if conversation is None or token is None:
            return render_template("web/rate.html", conversation=None, error=error), exc.status
        return _page(conversation, token, chosen=request.form.get("rating", type=int),
                     error=error, status=exc.status)


def _linked_or_none(token: str | None) -> Conversation | None:
    if token is None:
        return None
    try:
        return _linked(token)
    except DomainError:
        return None
