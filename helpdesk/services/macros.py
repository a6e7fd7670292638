"""Macros: canned replies with placeholders, and the changes they make when applied.

A macro is shared (everyone uses it; supervisors and admins manage it) or personal (its
owner alone sees and manages it). Applying one renders its text for a conversation and,
in the same transaction, posts it as a reply (``send``) and applies its actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpdesk import events, placeholders
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    Conversation,
    ConversationStatus,
    Customer,
    IdentityKind,
    Macro,
    Priority,
    User,
)
from helpdesk.services import conversations
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.services.conversations import MAX_BODY, NewMessage
from helpdesk.uow import UnitOfWork

TAG_ACTIONS = ("add_tags", "remove_tags")
MAX_TAG = 64
SHARED_REFUSED = "only supervisors and admins manage shared macros (macros:manage)"


@dataclass(frozen=True)
class AppliedMacro:
    text: str  # the macro's text for this conversation
    message_id: int | None  # the reply posted, when sent


def visible_macros(session: Session, user_id: int) -> list[Macro]:
    """The shared macros and the user's own, by name."""
    return list(session.scalars(select(Macro).where(
        or_(Macro.owner_id.is_(None), Macro.owner_id == user_id)).order_by(Macro.name, Macro.id)))


def visible_macro(session: Session, user_id: int, macro_id: int) -> Macro:
    """One macro the user may use; another's personal macro does not exist for them."""
    macro = session.get(Macro, macro_id)
    if macro is None or not (macro.shared or macro.owner_id == user_id):
        raise NotFound(f"macro {macro_id} does not exist", field="macro_id")
    return macro


def create_macro(uow: UnitOfWork, actor: Actor, *, name: str, body: str = "",
                 actions: dict[str, Any] | None = None, shared: bool = False,
                 may_share: bool = False) -> Macro:
    """A personal macro, or a shared one when ``may_share`` (the caller's permission)."""
    if shared and not may_share:
        raise PermissionDenied(SHARED_REFUSED, field="shared")
    macro = Macro(owner_id=None if shared else actor.id)
    _apply(uow.session, macro, {"name": name, "body": body, "actions": actions or {}})
    uow.session.add(macro)
    uow.session.flush()
    _audit(uow, actor, "macro.created", macro)
    uow.commit()
    return macro


def update_macro(uow: UnitOfWork, actor: Actor, macro_id: int, *, may_share: bool = False,
                 **changes: Any) -> Macro:
    """Change a macro's name, body or actions (``actions`` replaces the old set)."""
    macro = _managed(uow.session, actor, macro_id, may_share)
    _apply(uow.session, macro, changes)
    _audit(uow, actor, "macro.updated", macro)
    uow.commit()
    return macro


def delete_macro(uow: UnitOfWork, actor: Actor, macro_id: int, *,
                 may_share: bool = False) -> None:
    macro = _managed(uow.session, actor, macro_id, may_share)
    _audit(uow, actor, "macro.deleted", macro)
    uow.session.delete(macro)
    uow.commit()


def render_for(session: Session, macro: Macro, conversation: Conversation,
               agent_id: int) -> str:
    """The macro's text with this conversation's and this agent's values."""
    return placeholders.render(macro.body, placeholder_values(
        conversation, get_or_404(session, User, agent_id)))


def placeholder_values(conversation: Conversation, agent: User) -> dict[str, str]:
    """The value of each name in ``placeholders.NAMES``."""
    customer: Customer = conversation.customer
    emails = customer.identity_values(IdentityKind.EMAIL)
    return {"customer.name": customer.display_name, "customer.email": emails[0] if emails else "",
            "agent.name": agent.name, "conversation.id": str(conversation.id),
            "conversation.subject": conversation.subject}


def apply_macro(uow: UnitOfWork, actor: Actor, conversation_id: int, macro_id: int, *,
                send: bool) -> AppliedMacro:
    """Render the macro for the conversation, post it as a reply when ``send``, and apply
    its actions: all in one transaction (a failing action stores nothing)."""
    macro = visible_macro(uow.session, actor.id, macro_id)
    conversation = get_or_404(uow.session, Conversation, conversation_id)
    text = render_for(uow.session, macro, conversation, actor.id)
    if send and not text.strip():
        raise ValidationFailed(f"macro {macro.name!r} has no text to send", field="send")
    with uow.one_transaction():
        message_id = _send(uow, actor, conversation_id, text) if send else None
        _apply_actions(uow, actor, conversation_id, macro.actions)
        uow.record(events.MacroApplied(
            actor=actor, customer_id=conversation.customer_id, conversation_id=conversation.id,
            channel=conversation.channel.value, macro_id=macro.id, name=macro.name, sent=send))
    return AppliedMacro(text, message_id)


def _send(uow: UnitOfWork, actor: Actor, conversation_id: int, text: str) -> int:
    return conversations.post_message(uow, conversation_id,
                                      NewMessage(body=text, author=actor)).id


def _apply_actions(uow: UnitOfWork, actor: Actor, conversation_id: int,
                   actions: dict[str, Any]) -> None:
    """Tags and priority first, the status last (a reply posted before may have opened it)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id)
    tags = None
    if any(actions.get(key) for key in TAG_ACTIONS):
        tags = sorted((set(conversation.tags) | set(actions.get("add_tags", [])))
                      - set(actions.get("remove_tags", [])))
    priority = Priority(actions["priority"]) if actions.get("priority") else None
    if tags is not None or priority is not None:
        conversations.update_conversation(uow, actor, conversation_id, priority=priority,
                                          tags=tags)
    if actions.get("status"):
        conversations.change_status(uow, actor, conversation_id,
                                    ConversationStatus(actions["status"]))


def _managed(session: Session, actor: Actor, macro_id: int, may_share: bool) -> Macro:
    """A macro the actor may change: their own, or a shared one with ``may_share``."""
    macro = visible_macro(session, actor.id, macro_id)
    if macro.shared and not may_share:
        raise PermissionDenied(SHARED_REFUSED)
    return macro


def _apply(session: Session, macro: Macro, changes: dict[str, Any]) -> None:
    if "name" in changes:
        macro.name = _checked_name(session, macro, changes["name"])
    if "body" in changes:
        macro.body = _checked_body(changes["body"])
    if "actions" in changes:
        macro.actions = checked_actions(changes["actions"])
    if not macro.body.strip() and not macro.actions:
        raise ValidationFailed("a macro needs a text or at least one action", field="body")


def _checked_name(session: Session, macro: Macro, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a macro's name is 1 to 100 characters", field="name")
    same_scope = (Macro.owner_id.is_(None) if macro.owner_id is None
                  else Macro.owner_id == macro.owner_id)
    query = select(Macro.id).where(same_scope, Macro.name == name)
    taken = session.scalar(query.where(Macro.id != macro.id) if macro.id else query)
    if taken:
        raise Conflict(f"another macro is already named {name!r}", field="name")
    return name


def _checked_body(body: str) -> str:
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"the text is over {MAX_BODY} characters", field="body")
    placeholders.check_template(body)
    return body


def checked_actions(actions: dict[str, Any]) -> dict[str, Any]:
    """Validated actions with empty ones dropped; an unknown one is refused by name."""
    unknown = sorted(set(actions) - {"status", "priority", *TAG_ACTIONS})
    if unknown:
        raise ValidationFailed(f"unknown macro action {unknown[0]!r}", field="actions")
    checked: dict[str, Any] = {}
    if actions.get("status"):
        checked["status"] = checked_enum(ConversationStatus, actions["status"],
                                         "actions.status").value
    if actions.get("priority"):
        checked["priority"] = checked_enum(Priority, actions["priority"],
                                           "actions.priority").value
    for key in TAG_ACTIONS:
        tags = _checked_tags(actions.get(key) or [], f"actions.{key}")
        if tags:
            checked[key] = tags
    if set(checked.get("add_tags", [])) & set(checked.get("remove_tags", [])):
        raise ValidationFailed("a tag cannot be both added and removed", field="actions")
    return checked


def _checked_tags(tags: list[str], field: str) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    if any(len(t) > MAX_TAG for t in cleaned):
        raise ValidationFailed(f"a tag is at most {MAX_TAG} characters", field=field)
    return cleaned


def _audit(uow: UnitOfWork, actor: Actor, action: str, macro: Macro) -> None:
    uow.record(events.StaffChanged(
        actor=actor, action=action, target_type="macro", target_id=macro.id,
        details={"name": macro.name, "shared": macro.shared, "actions": macro.actions}))
