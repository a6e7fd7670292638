"""Conversations (tickets): list, open, read, reply, note, assign, status, priority and tags;
an outside assistant's handoff and email follow-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import handoff
from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    AssignIn,
    ConversationIn,
    ConversationOut,
    ConversationPage,
    ConversationPatch,
    ConversationQuery,
    FollowUpIn,
    FollowUpOut,
    HandoffIn,
    MessageList,
    MessageOut,
    MessagesQuery,
    NoteIn,
    ReplyIn,
    StatusIn,
)
from helpdesk.api.segments import visible_segment_id
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation, Message
from helpdesk.services import conversations, follow_ups, queries
from helpdesk.services.common import get_or_404
from helpdesk.services.conversations import NewMessage

blp = ApiBlueprint("api_conversations", __name__,
                   description="Conversations (tickets) and their messages")
CONVERSATION = f"/conversations/<{ID}:conversation_id>"
READ, WRITE = Permission.CONVERSATIONS_READ, Permission.CONVERSATIONS_WRITE


@blp.route("/conversations", methods=["GET"])
@blp.arguments(ConversationQuery, location="query")
@blp.response(200, ConversationPage)
@requires(READ)
def list_conversations(args: dict[str, Any]) -> dict[str, Any]:
    """List conversations, most urgent and most recent first (best match first when
    searching with ``q``).

    Filters combine (AND); ``status`` may be repeated (any of them); ``segment_id`` keeps
    the conversations of a segment's customers.
    """
    page, per_page = args.pop("page"), capped_size(args.pop("per_page", None))
    sort = args.pop("sort", None)
    visible_segment_id(args.get("segment_id"))
    filters = queries.ConversationFilter(statuses=args.pop("status", []),
                                         search=args.pop("q", None), **args)
    return page_body(queries.list_conversations(db.session, filters, sort=sort, page=page,
                                                per_page=per_page))


@blp.route("/conversations", methods=["POST"])
@blp.arguments(ConversationIn)
@blp.response(201, ConversationOut)
@blp.alt_response(409, schema=ErrorSchema, description="The customer was merged away")
@requires(WRITE)
def open_conversation(data: dict[str, Any]) -> Conversation:
    """Open a conversation for a customer, optionally with its first message."""
    first = data.pop("first_message", None)
    if first is not None:
        first = _first_message(first, data["customer_id"])
    with unit_of_work() as uow:
        opened = conversations.open_conversation(uow, staff_actor(), first_message=first,
                                                 **data)
    return reload(Conversation, opened.id)


@blp.route(CONVERSATION, methods=["GET"])
@blp.response(200, ConversationOut)
@requires(READ)
def get_conversation(conversation_id: int) -> Conversation:
    """One conversation with its customer, queue, assignee and tags."""
    return get_or_404(db.session, Conversation, conversation_id)


@blp.route(CONVERSATION, methods=["PATCH"])
@blp.arguments(ConversationPatch)
@blp.response(200, ConversationOut)
@requires(WRITE)
def update_conversation(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Change the priority, replace the tags and/or set custom field values.

    A custom field value that does not fit its definition is refused (422), naming it.
    """
    with unit_of_work() as uow:
        conversations.update_conversation(uow, staff_actor(), conversation_id, **data)
    return reload(Conversation, conversation_id)


@blp.route(f"{CONVERSATION}/messages", methods=["GET"])
@blp.arguments(MessagesQuery, location="query")
@blp.response(200, MessageList)
@requires(READ)
def list_messages(args: dict[str, Any], conversation_id: int) -> dict[str, Any]:
    """The thread in ``seq`` order, internal notes included.

    To catch up without gaps, pass the last ``seq`` you hold as ``after_seq``.
    """
    get_or_404(db.session, Conversation, conversation_id)
    limit = args["limit"]
    found = queries.conversation_messages(db.session, conversation_id,
                                          after_seq=args["after_seq"], limit=limit + 1)
    return {"items": found[:limit], "has_more": len(found) > limit}


@blp.route(f"{CONVERSATION}/reply", methods=["POST"])
@blp.arguments(ReplyIn)
@blp.response(201, MessageOut, description="The reply was stored")
@blp.alt_response(200, schema=MessageOut, success=True,
                  description="A retry (same client_id): the reply stored the first time")
@blp.alt_response(409, schema=ErrorSchema, description="The conversation is closed")
@requires(WRITE)
def reply(data: dict[str, Any], conversation_id: int) -> tuple[Message, int]:
    """Reply to the customer. Send a ``client_id`` to make retries safe."""
    return _post(conversation_id, NewMessage(author=staff_actor(), **data))


@blp.route(f"{CONVERSATION}/notes", methods=["POST"])
@blp.arguments(NoteIn)
@blp.response(201, MessageOut, description="The note was stored")
@blp.alt_response(200, schema=MessageOut, success=True,
                  description="A retry (same client_id): the note stored the first time")
@blp.alt_response(409, schema=ErrorSchema, description="The conversation is closed")
@requires(WRITE)
def add_note(data: dict[str, Any], conversation_id: int) -> tuple[Message, int]:
    """Add an internal note, seen by staff only."""
    return _post(conversation_id, NewMessage(author=staff_actor(), internal=True, **data))


@blp.route(f"{CONVERSATION}/assign", methods=["POST"])
@blp.arguments(AssignIn)
@blp.response(200, ConversationOut)
@requires(WRITE)
def assign(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Give the conversation to an agent, or back to its queue (``assignee_id``: null)."""
    with unit_of_work() as uow:
        conversations.assign(uow, staff_actor(), conversation_id, **data)
    return reload(Conversation, conversation_id)


@blp.route(f"{CONVERSATION}/status", methods=["POST"])
@blp.arguments(StatusIn)
@blp.response(200, ConversationOut)
@blp.alt_response(409, schema=ErrorSchema, description="Not a move the lifecycle allows")
@requires(WRITE)
def change_status(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Move the conversation through its lifecycle (a closed one stays closed)."""
    with unit_of_work() as uow:
        conversations.change_status(uow, staff_actor(), conversation_id, data["status"])
    return reload(Conversation, conversation_id)


@blp.route(f"{CONVERSATION}/handoff", methods=["POST"])
@blp.arguments(HandoffIn)
@blp.response(200, ConversationOut)
@requires(WRITE)
def request_handoff(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Hand a chat from the assistant to people, as the built-in assistant does (handoff
    packet, message to the customer), to the named queue if given.

    For an outside dialogue engine (Rasa). Any conversation that is not a chat the
    assistant owns is returned unchanged, so a retry is harmless.
    """
    with unit_of_work() as uow:
        handoff.request_handoff(uow, conversation_id, data["reason"], data["queue"])
    return reload(Conversation, conversation_id)


@blp.route(f"{CONVERSATION}/follow-ups", methods=["POST"])
@blp.arguments(FollowUpIn)
@blp.response(201, FollowUpOut, description="The email conversation was opened")
@blp.alt_response(200, schema=FollowUpOut, success=True,
                  description="A retry (same description): the conversation opened before")
@blp.alt_response(409, schema=ErrorSchema, description="The conversation is closed")
@requires(WRITE)
def open_follow_up(data: dict[str, Any], conversation_id: int) -> tuple[dict[str, Any], int]:
    """Open an email conversation following up this one (a chat): the customer with that
    address (created when unknown) writes the description; an internal note here links it.
    """
    with unit_of_work() as uow:
        follow_up = follow_ups.open_follow_up(uow, staff_actor(), conversation_id, **data)
    body = {"id": follow_up.conversation_id, "reference": f"#{follow_up.conversation_id}"}
    return body, 201 if follow_up.created else 200


def _first_message(data: dict[str, Any], customer_id: int) -> NewMessage:
    author = data.pop("author")
    actor = Actor("customer", customer_id) if author == "customer" else staff_actor()
    return NewMessage(author=actor, **data)


def _post(conversation_id: int, message: NewMessage) -> tuple[Message, int]:
    """Store a message; 201 when new, 200 when a retry returned the one stored before."""
    retry = message.client_id is not None and _posted(conversation_id, message.client_id)
    with unit_of_work() as uow:
        # Read the id inside: a retry commits nothing, and leaving rolls back (expiring it).
        message_id = conversations.post_message(uow, conversation_id, message).id
    return reload(Message, message_id), 200 if retry else 201


def _posted(conversation_id: int, client_id: str) -> bool:
    return db.session.scalar(select(Message.id).where(
        Message.conversation_id == conversation_id, Message.client_id == client_id)) is not None
