"""Privacy in the agent UI: a customer's export and erasure (buttons on the customer page),
the requests and their archives (/privacy), the retention rules (/privacy/retention)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Customer, DataRequest, DataRequestState
from helpdesk.orm import utcnow
from helpdesk.privacy import erasure, exports, folders, queries, retention
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text, save_form
from helpdesk.web.directory import load_directory

MANAGE, RETENTION = Permission.PRIVACY_MANAGE, Permission.RETENTION_MANAGE
CUSTOMER_REQUESTS = 5
WAITING = (DataRequestState.PENDING, DataRequestState.RUNNING)


@bp.app_template_global()
def customer_data_requests(customer_id: int) -> list[DataRequest]:
    """The customer's latest exports and erasures (the customer page's privacy panel)."""
    return queries.data_requests(db.session, customer_id=customer_id,
                                 per_page=CUSTOMER_REQUESTS).items


@bp.app_template_global()
def customer_erasure(customer_id: int) -> DataRequest | None:
    return queries.last_erasure(db.session, customer_id)


@bp.get("/privacy")
@requires(MANAGE)
def privacy_page() -> ResponseReturnValue:
    page = queries.data_requests(db.session, page=max(1, request.args.get("page", 1, type=int)),
                                 per_page=current_app.config["COMPTOIR"].page_size)
    ids = {r.customer_id for r in page.items}
    names = {c.id: c.display_name for c in db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.identities)))}
    return render_template("web/privacy.html", page=page, names=names,
                           directory=load_directory(db.session),
                           waiting=any(r.state in WAITING for r in page.items))


@bp.post("/customers/<int:customer_id>/privacy/export")
@requires(MANAGE)
def export_customer_data(customer_id: int) -> ResponseReturnValue:
    """Store the request; build it now when small, else the worker does."""
    try:
        with unit_of_work() as uow:
            request_id = exports.request_export(uow, current_actor(), customer_id).id
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(url_for("web.customers"))
    if exports.is_small(db.session, customer_id):
        exports.build(unit_of_work, request_id, folders())
    done = db.session.get(DataRequest, request_id).state == DataRequestState.DONE
    flash(_("The export is ready: download it below.") if done else _(
        "The export was requested: the archive is being built, this page shows when it is "
        "ready."), "success")
    return redirect(url_for("web.privacy_page"))


@bp.post("/customers/<int:customer_id>/privacy/erase")
@requires(MANAGE)
def erase_customer_data(customer_id: int) -> ResponseReturnValue:
    try:
        erasure.erase_customer(unit_of_work, current_actor(), customer_id,
                               request.form.get("confirm", ""), folders())
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("Everything about customer #%(id)s was erased.", id=customer_id), "success")
    return redirect(url_for("web.customer", customer_id=customer_id))


@bp.get("/privacy/requests/<int:request_id>/download")
@requires(MANAGE)
def download_data_request(request_id: int) -> ResponseReturnValue:
    """The archive of a finished export; the download is recorded in the audit log."""
    try:
        with unit_of_work() as uow:
            path, name = exports.archive_to_download(uow, current_actor(), request_id,
                                                     folders().exports)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(url_for("web.privacy_page"))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)


@bp.get("/privacy/retention")
@requires(RETENTION)
def retention_page() -> ResponseReturnValue:
    stored = retention.current_settings(db.session)
    return _retention_form({rule: "" if days is None else str(days)
                            for rule, days in stored.items()})


@bp.post("/privacy/retention")
@requires(RETENTION)
def save_retention() -> ResponseReturnValue:
    return save_form(lambda uow: retention.save_settings(uow, current_actor(), _typed_days()),
                     _("Retention rules saved."), url_for("web.retention_page"),
                     lambda: _retention_form({rule: request.form.get(rule, "")
                                              for rule in retention.RULES}))


def _retention_form(values: dict[str, str]) -> str:
    return render_template("web/retention.html", rules=retention.RULES, values=values,
                           preview=retention.preview(db.session, utcnow()),
                           runs=retention.recent_runs(db.session))


def _typed_days() -> dict[str, int | None]:
    """Each rule's days as typed: a whole number, or empty for "keep for ever"."""
    days = {}
    for rule in retention.RULES:
        typed = request.form.get(rule, "").strip()
        if typed and not typed.isdigit():
            raise ValidationFailed(_("Enter a number of days for %(rule)s, or leave it empty.",
                                     rule=rule), field=rule)
        days[rule] = int(typed) if typed else None
    return days
