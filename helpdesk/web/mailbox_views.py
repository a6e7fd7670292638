"""Admins' mailbox pages: the polled mailboxes (create, edit, deactivate, test the
connection) with their last poll and error, and the quarantine of emails that failed.

A saved password is never sent back to the browser: the form's password field starts
blank, and left blank it keeps the stored one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import imap, intake
from helpdesk.models import Mailbox, MailboxSecurity
from helpdesk.services import mailboxes
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text, run_action, safe_next
from helpdesk.web.directory import load_directory

TEXT_FIELDS = ("name", "address", "imap_host", "imap_port", "imap_security", "imap_username",
               "imap_folder", "poll_seconds", "queue_id")
OPTIONAL_ON_CREATE = ("imap_port", "imap_username")  # blank: the service's defaults
QUARANTINE_SHOWN = 200
SECURITY = {"tls": _l("TLS"), "starttls": _l("STARTTLS"),
            "none": _l("None (plain text: local servers only)")}
OUTCOMES = {
    "new_conversation": _l("it opened a new conversation"),
    "appended": _l("it was added to its conversation"),
    "duplicate": _l("it had already been received"),
    "auto_reply": _l("it is an automatic reply, kept in the customer's history"),
    "bounce": _l("it is a delivery failure report, kept in the history"),
}


@bp.get("/mailboxes")
@requires(Permission.MAILBOXES_MANAGE)
def mailboxes_page() -> ResponseReturnValue:
    return render_template("web/mailboxes.html", security=SECURITY,
                           mailboxes=mailboxes.all_mailboxes(db.session),
                           directory=load_directory(db.session),
                           quarantined=mailboxes.quarantine_size(db.session))


@bp.get("/mailboxes/new")
@requires(Permission.MAILBOXES_MANAGE)
def new_mailbox() -> ResponseReturnValue:
    return _form(None, {"imap_security": MailboxSecurity.TLS.value, "imap_folder": "INBOX",
                        "poll_seconds": "60"})


@bp.post("/mailboxes/new")
@requires(Permission.MAILBOXES_MANAGE)
def create_mailbox() -> ResponseReturnValue:
    fields = {k: v for k, v in _form_fields().items()
              if k not in OPTIONAL_ON_CREATE or str(v).strip()}
    return _save(None, lambda uow: mailboxes.create_mailbox(
        uow, current_actor(), password=request.form.get("password", ""), **fields),
        _("Mailbox created. Test its connection before the worker polls it."))


@bp.get("/mailboxes/<int:mailbox_id>")
@requires(Permission.MAILBOXES_MANAGE)
def edit_mailbox(mailbox_id: int) -> ResponseReturnValue:
    mailbox = get_or_404(db.session, Mailbox, mailbox_id)
    return _form(mailbox, _values_of(mailbox))


@bp.post("/mailboxes/<int:mailbox_id>")
@requires(Permission.MAILBOXES_MANAGE)
def save_mailbox(mailbox_id: int) -> ResponseReturnValue:
    fields = _form_fields() | {"active": "active" in request.form}
    return _save(mailbox_id, lambda uow: mailboxes.update_mailbox(
        uow, current_actor(), mailbox_id, password=request.form.get("password") or None,
        **fields), _("Mailbox saved."))


@bp.post("/mailboxes/<int:mailbox_id>/deactivate")
@requires(Permission.MAILBOXES_MANAGE)
def deactivate_mailbox(mailbox_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: mailboxes.deactivate_mailbox(uow, current_actor(), mailbox_id),
                      _("Mailbox deactivated: it is no longer polled."),
                      url_for("web.mailboxes_page"))


@bp.post("/mailboxes/<int:mailbox_id>/test")
@requires(Permission.MAILBOXES_MANAGE)
def try_connection(mailbox_id: int) -> ResponseReturnValue:
    """Log in and open the folder with the saved settings; say what the server answered."""
    try:
        status = imap.check_connection(mailbox_id)
    except DomainError as exc:
        flash(_("Connection failed: %(error)s", error=exc.message), "error")
    else:
        flash(ngettext("Connection works: the folder holds %(num)d message.",
                       "Connection works: the folder holds %(num)d messages.",
                       status.messages), "success")
    return redirect(safe_next(request.form.get("next"), url_for("web.mailboxes_page")))


@bp.get("/mailboxes/quarantine")
@requires(Permission.MAILBOXES_MANAGE)
def quarantine() -> ResponseReturnValue:
    return render_template("web/quarantine.html", shown=QUARANTINE_SHOWN,
                           emails=mailboxes.quarantine_page(db.session, QUARANTINE_SHOWN),
                           total=mailboxes.quarantine_size(db.session))


@bp.post("/mailboxes/quarantine/<int:inbound_id>/reprocess")
@requires(Permission.MAILBOXES_MANAGE)
def reprocess(inbound_id: int) -> ResponseReturnValue:
    try:
        outcome = intake.reprocess(inbound_id)
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        _flash_outcome(outcome)
    return redirect(url_for("web.quarantine"))


def _flash_outcome(outcome: intake.Outcome) -> None:
    if outcome.outcome in OUTCOMES:
        flash(_("Email %(id)s processed: %(what)s.", id=outcome.inbound_id,
                what=OUTCOMES[outcome.outcome]), "success")
    else:
        flash(_("Email %(id)s is still in quarantine: %(reason)s", id=outcome.inbound_id,
                reason=outcome.reason), "error")


def _form(mailbox: Mailbox | None, values: dict[str, Any]) -> str:
    return render_template("web/mailbox_form.html", mailbox=mailbox, values=values,
                           securities=list(MailboxSecurity), security=SECURITY,
                           queues=load_directory(db.session).queue_list)


def _save(mailbox_id: int | None, write: Callable[[UnitOfWork], Mailbox],
          done: str) -> ResponseReturnValue:
    """Save and go back to the list; a refused form comes back with what was typed (the
    password apart) and the error."""
    try:
        with unit_of_work() as uow:
            write(uow)
    except DomainError as exc:
        flash(error_text(exc), "error")
        mailbox = get_or_404(db.session, Mailbox, mailbox_id) if mailbox_id else None
        values = _form_fields() | {"use_idle": "use_idle" in request.form,
                                   "active": "active" in request.form}
        return _form(mailbox, values), exc.status
    flash(done, "success")
    return redirect(url_for("web.mailboxes_page"))


def _form_fields() -> dict[str, Any]:
    """The settings as typed (the service checks them), the IDLE box as a boolean."""
    form = request.form
    return {name: form.get(name, "") for name in TEXT_FIELDS} | {
        "use_idle": "use_idle" in form}


def _values_of(mailbox: Mailbox) -> dict[str, Any]:
    return {name: getattr(mailbox, name) for name in TEXT_FIELDS} | {
        "imap_security": mailbox.imap_security.value, "use_idle": mailbox.use_idle,
        "active": mailbox.active}
