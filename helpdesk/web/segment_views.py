"""Customer segments in the agent UI: the list with member counts, the form (with a count
of the customers its conditions match), deletion. Members are listed on the customers page
filtered by the segment."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, NotFound
from helpdesk.extensions import db
from helpdesk.models import Segment
from helpdesk.services import segments
from helpdesk.services.segments import Field, Op
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text, run_action, save_form
from helpdesk.web.segment_form import (
    conditions_of,
    segment_label,
    typed_values,
    values_of,
    with_blank_rows,
)

READ = Permission.CUSTOMERS_READ
bp.add_app_template_global(segment_label)


@bp.get("/segments")
@requires(READ)
def segments_page() -> ResponseReturnValue:
    found = segments.visible_segments(db.session, current_user.id)
    return render_template("web/segments.html", segments=[
        (segment, segments.count_members(db.session, segment)) for segment in found])


@bp.get("/segments/new")
@requires(READ)
def new_segment() -> ResponseReturnValue:
    shared = request.args.get("shared") == "1" and _may_share()
    return _form(None, {"name": "", "description": "", "match": "all", "rows": [],
                        "conditions_json": "", "shared": shared})


@bp.post("/segments/new")
@requires(READ)
def create_segment() -> ResponseReturnValue:
    values = typed_values(request.form)
    return save_form(lambda uow: segments.create_segment(
        uow, current_actor(), name=values["name"], description=values["description"],
        conditions=conditions_of(values), shared="shared" in request.form,
        may_share=_may_share()), _("Segment saved."), url_for("web.segments_page"),
        lambda: _form(None, values | {"shared": "shared" in request.form}))


@bp.get("/segments/<int:segment_id>")
@requires(READ)
def edit_segment(segment_id: int) -> ResponseReturnValue:
    segment = segments.visible_segment(db.session, current_user.id, segment_id)
    return _form(segment, values_of(segment))


@bp.post("/segments/<int:segment_id>")
@requires(READ)
def save_segment(segment_id: int) -> ResponseReturnValue:
    values = typed_values(request.form)
    return save_form(lambda uow: segments.update_segment(
        uow, current_actor(), segment_id, name=values["name"],
        description=values["description"], conditions=conditions_of(values),
        may_share=_may_share()), _("Segment saved."), url_for("web.segments_page"),
        lambda: _form(segments.visible_segment(db.session, current_user.id, segment_id),
                      values))


@bp.post("/segments/<int:segment_id>/delete")
@requires(READ)
def delete_segment(segment_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: segments.delete_segment(uow, current_actor(), segment_id,
                                                          may_share=_may_share()),
                      _("Segment deleted."), url_for("web.segments_page"))


@bp.post("/segments/count")
@requires(READ)
def count_segment() -> ResponseReturnValue:
    """How many customers the form's conditions match now (htmx puts it under the form)."""
    try:
        count = segments.count_matching(db.session, segments.parse(
            conditions_of(typed_values(request.form))))
    except DomainError as exc:
        return render_template("web/_segment_count.html", error=error_text(exc))
    return render_template("web/_segment_count.html", count=count)


def chosen_segment(segment_id: int | None) -> Segment | None:
    """The segment a list is filtered by, when the user sees it (else no filter)."""
    if segment_id is None:
        return None
    try:
        return segments.visible_segment(db.session, current_user.id, segment_id)
    except NotFound:
        return None


@bp.app_template_global()
def segment_name(segment_id: int) -> str:
    segment = db.session.get(Segment, segment_id)
    return segment.name if segment else f"#{segment_id}"


def _may_share() -> bool:
    principal = current_principal()
    return principal is not None and principal.can(Permission.SEGMENTS_MANAGE)


def _form(segment: Segment | None, values: dict[str, Any]) -> str:
    manageable = segment is None or not segment.shared or _may_share()
    return render_template("web/segment_form.html", segment=segment, values=values,
                           rows=with_blank_rows(values), fields=list(Field),
                           operators=list(Op), may_share=_may_share(), manageable=manageable)
