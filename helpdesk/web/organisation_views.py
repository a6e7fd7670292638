"""Organisations in the agent UI: the list, one organisation's page with its members and
their recent conversations, and the forms that change them."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import FieldSubject, Organisation
from helpdesk.services import organisations
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action, save_form
from helpdesk.web.custom_field_views import submitted_values
from helpdesk.web.merge_views import required_id

READ, WRITE = Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE
RECENT_CONVERSATIONS = 20


@bp.get("/organisations")
@requires(READ)
def organisations_page() -> ResponseReturnValue:
    return _list_page({"name": "", "domains": "", "notes": ""})


@bp.post("/organisations")
@requires(WRITE)
def create_organisation() -> ResponseReturnValue:
    return save_form(lambda uow: organisations.create_organisation(uow, current_actor(),
                                                                   **_form()),
                     _("Organisation created."), url_for("web.organisations_page"),
                     lambda: _list_page(_typed()))


@bp.get("/organisations/<int:organisation_id>")
@requires(READ)
def organisation(organisation_id: int) -> ResponseReturnValue:
    found = get_or_404(db.session, Organisation, organisation_id)
    return _page(found, {"name": found.name, "domains": "\n".join(found.domains),
                         "notes": found.notes})


@bp.post("/organisations/<int:organisation_id>")
@requires(WRITE)
def save_organisation(organisation_id: int) -> ResponseReturnValue:
    def save(uow: UnitOfWork) -> None:
        organisations.update_organisation(
            uow, current_actor(), organisation_id, **_form(),
            attributes=submitted_values(uow.session, FieldSubject.ORGANISATION))
    return save_form(save, _("Organisation saved."), _here(organisation_id),
                     lambda: _page(get_or_404(db.session, Organisation, organisation_id),
                                   _typed()))


@bp.post("/organisations/<int:organisation_id>/delete")
@requires(WRITE)
def delete_organisation(organisation_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: organisations.delete_organisation(uow, current_actor(),
                                                                    organisation_id),
                      _("Organisation deleted."), url_for("web.organisations_page"))


@bp.post("/organisations/<int:organisation_id>/members")
@requires(WRITE)
def add_organisation_member(organisation_id: int) -> ResponseReturnValue:
    """Add the customer whose number was given."""
    return run_action(lambda uow: organisations.add_member(
        uow, current_actor(), organisation_id, required_id("customer_id")),
        _("Member added."), _here(organisation_id))


@bp.post("/organisations/<int:organisation_id>/members/<int:customer_id>/remove")
@requires(WRITE)
def remove_organisation_member(organisation_id: int, customer_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: organisations.remove_member(
        uow, current_actor(), organisation_id, customer_id),
        _("Member removed."), _here(organisation_id))


def _list_page(values: dict[str, str]) -> str:
    search = request.args.get("q", "").strip()
    page = organisations.list_organisations(
        db.session, search=search or None, page=max(1, request.args.get("page", 1, type=int)),
        per_page=current_app.config["COMPTOIR"].page_size)
    return render_template("web/organisations.html", page=page, search=search, values=values)


def _page(found: Organisation, values: dict[str, str]) -> str:
    members = organisations.members(db.session, found.id,
                                    page=max(1, request.args.get("page", 1, type=int)),
                                    per_page=current_app.config["COMPTOIR"].page_size)
    recent = organisations.recent_conversations(db.session, found.id,
                                                limit=RECENT_CONVERSATIONS)
    return render_template("web/organisation.html", organisation=found, values=values,
                           members=members, conversations=recent)


def _form() -> dict[str, Any]:
    """Name, notes, and the domains one a line (or separated by commas or spaces)."""
    form = request.form
    return {"name": form.get("name", ""), "notes": form.get("notes", ""),
            "domains": [d for d in re.split(r"[\s,;]+", form.get("domains", "")) if d]}


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in ("name", "domains", "notes")}


def _here(organisation_id: int) -> str:
    return url_for("web.organisation", organisation_id=organisation_id)
