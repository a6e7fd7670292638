"""Phone calls in the agent UI: the screen pop, the call panel of a conversation, notes."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import Call
from helpdesk.services import calls
from helpdesk.services.common import get_or_404
from helpdesk.services.timeline import customer_timeline
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action
from helpdesk.web.directory import load_directory


@bp.app_template_global()
def conversation_calls(conversation_id: int) -> list[Call]:
    """The calls of a conversation, for its call panel."""
    return calls.conversation_calls(db.session, conversation_id)


@bp.get("/calls/screen-pop")
@requires(Permission.CONVERSATIONS_READ)
def call_screen_pop() -> ResponseReturnValue:
    """The screen pop of ``?call=<id>``: the console asks for it when the call rings."""
    call_id = request.args.get("call", type=int)
    if call_id is None:
        abort(404)
    call = get_or_404(db.session, Call, call_id)
    timeline = customer_timeline(db.session, call.customer_id, limit=calls.SCREEN_POP_EVENTS)
    return render_template("web/_screen_pop.html", call=call, customer=call.customer,
                           timeline=timeline, directory=load_directory(db.session))


@bp.post("/calls/<int:call_id>/notes")
@requires(Permission.CONVERSATIONS_WRITE)
def save_call_notes(call_id: int) -> ResponseReturnValue:
    call = get_or_404(db.session, Call, call_id)
    back = (url_for("web.conversation", conversation_id=call.conversation_id)
            if call.conversation_id else url_for("web.inbox"))
    notes = request.form.get("notes", "")
    return run_action(lambda uow: calls.save_notes(uow, current_actor(), call_id, notes),
                      _("Call notes saved."), back)
