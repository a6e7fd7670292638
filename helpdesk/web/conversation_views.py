"""One conversation: the thread, the composer, and the forms that change it.

Each form posts to its own view, which calls one service and redirects back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import abort, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import AuthorKind, Conversation, ConversationStatus, Message, Priority
from helpdesk.models.conversation import ALLOWED_TRANSITIONS
from helpdesk.services import conversations
from helpdesk.services.common import get_or_404
from helpdesk.services.conversations import NewMessage
from helpdesk.services.queries import conversation_messages
from helpdesk.services.timeline import customer_timeline
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, form_enum, form_optional_id, run_action
from helpdesk.web.directory import load_directory
from helpdesk.web.handoff import read_handoff

SIDEBAR_EVENTS = 10
CLIENT_ID_MAX = 64


@bp.get("/conversations/<int:conversation_id>")
@requires(Permission.CONVERSATIONS_READ)
def conversation(conversation_id: int) -> ResponseReturnValue:
    conv = get_or_404(db.session, Conversation, conversation_id)
    messages = conversation_messages(db.session, conv.id)
    return render_template(
        "web/conversation.html", conversation=conv, customer=conv.customer, messages=messages,
        handoff=read_handoff(conv.handoff), seen_seq=seen_seq(messages, conv.customer_read_seq),
        timeline=customer_timeline(db.session, conv.customer_id, limit=SIDEBAR_EVENTS),
        directory=load_directory(db.session), priorities=list(Priority),
        next_statuses=sorted(ALLOWED_TRANSITIONS[conv.status], key=list(ConversationStatus).index),
        client_id=uuid.uuid4().hex)


@bp.get("/conversations/<int:conversation_id>/messages/<int:seq>")
@requires(Permission.CONVERSATIONS_READ)
def conversation_message(conversation_id: int, seq: int) -> ResponseReturnValue:
    """One message as a thread item: the live script fetches each new one."""
    conv = get_or_404(db.session, Conversation, conversation_id)
    message = db.session.scalar(select(Message).where(Message.conversation_id == conv.id,
                                                      Message.seq == seq))
    if message is None:
        abort(404)
    return _thread_items(conv, [message])


@bp.get("/conversations/<int:conversation_id>/messages")
@requires(Permission.CONVERSATIONS_READ)
def conversation_messages_after(conversation_id: int) -> ResponseReturnValue:
    """The thread items after ``?after=<seq>`` (none: an empty answer), to catch up."""
    conv = get_or_404(db.session, Conversation, conversation_id)
    after = max(0, request.args.get("after", 0, type=int))
    return _thread_items(conv, conversation_messages(db.session, conv.id, after_seq=after))


def _thread_items(conv: Conversation, messages: list[Message]) -> ResponseReturnValue:
    """Messages as thread items; the header tells the page how far the customer has read."""
    response = make_response(render_template(
        "web/_thread_items.html", conversation=conv, customer=conv.customer, messages=messages,
        directory=load_directory(db.session)))
    response.headers["X-Customer-Read-Seq"] = str(conv.customer_read_seq)
    return response


def seen_seq(messages: list[Message], customer_read_seq: int) -> int | None:
    """The last agent reply the customer has read (where "Seen" goes), if any."""
    read = [m.seq for m in messages if m.author_kind == AuthorKind.AGENT and not m.internal
            and m.seq <= customer_read_seq]
    return read[-1] if read else None


@bp.post("/conversations/<int:conversation_id>/reply")
@requires(Permission.CONVERSATIONS_WRITE)
def reply(conversation_id: int) -> ResponseReturnValue:
    return _post(conversation_id, internal=False, done=_("Reply sent."))


@bp.post("/conversations/<int:conversation_id>/note")
@requires(Permission.CONVERSATIONS_WRITE)
def note(conversation_id: int) -> ResponseReturnValue:
    return _post(conversation_id, internal=True, done=_("Internal note added."))


@bp.post("/conversations/<int:conversation_id>/assign")
@requires(Permission.CONVERSATIONS_WRITE)
def assign(conversation_id: int) -> ResponseReturnValue:
    def save(uow: UnitOfWork) -> None:
        conversations.assign(uow, current_actor(), conversation_id,
                             assignee_id=form_optional_id("assignee_id"),
                             queue_id=form_optional_id("queue_id"))
    return _act(conversation_id, save, _("Assignment saved."))


@bp.post("/conversations/<int:conversation_id>/status")
@requires(Permission.CONVERSATIONS_WRITE)
def change_status(conversation_id: int) -> ResponseReturnValue:
    def save(uow: UnitOfWork) -> None:
        conversations.change_status(uow, current_actor(), conversation_id,
                                    form_enum(ConversationStatus, "status"))
    return _act(conversation_id, save, _("Status saved."))


@bp.post("/conversations/<int:conversation_id>/priority")
@requires(Permission.CONVERSATIONS_WRITE)
def set_priority(conversation_id: int) -> ResponseReturnValue:
    def save(uow: UnitOfWork) -> None:
        conversations.set_priority(uow, current_actor(), conversation_id,
                                   form_enum(Priority, "priority"))
    return _act(conversation_id, save, _("Priority saved."))


@bp.post("/conversations/<int:conversation_id>/tags")
@requires(Permission.CONVERSATIONS_WRITE)
def set_tags(conversation_id: int) -> ResponseReturnValue:
    tags = request.form.get("tags", "").split(",")
    return _act(conversation_id,
                lambda uow: conversations.set_tags(uow, current_actor(), conversation_id, tags),
                _("Tags saved."))


def _post(conversation_id: int, *, internal: bool, done: str) -> ResponseReturnValue:
    # The form carries a fresh client id, so a double submit stores the message once.
    client_id = request.form.get("client_id", "")[:CLIENT_ID_MAX] or None
    message = NewMessage(body=request.form.get("body", ""), author=current_actor(),
                         internal=internal, client_id=client_id)
    return _act(conversation_id,
                lambda uow: conversations.post_message(uow, conversation_id, message), done)


def _act(conversation_id: int, action: Callable[[UnitOfWork], object],
         done: str) -> ResponseReturnValue:
    back = url_for("web.conversation", conversation_id=conversation_id)
    return run_action(action, done, back)
