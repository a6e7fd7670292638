"""What rules do: the actions' JSON (checked on save) and applying one to a conversation.

An action is ``{"type": ..., <its parameters>}``:

- ``set_queue`` ``queue_id`` (an assignee who is not a member of it lets go);
- ``set_priority`` ``priority``; ``assign`` ``agent_id``;
- ``set_status`` ``status`` and an optional public ``message`` posted first (solve with a
  message);
- ``add_tags`` / ``remove_tags`` ``tags`` (a list);
- ``add_note`` ``body`` (an internal note);
- ``notify`` ``text`` to ``user_ids`` and/or the conversation's assignee (``assignee``: true).

Changes are made by the rule (actor ``automation``, its id the rule's), so the history says
which rule made them. Messages and notes need an agent as author: the conversation's
assignee signs them, else the rule's author.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from helpdesk.errors import ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Conversation, ConversationStatus, Priority, Queue, Rule
from helpdesk.services import conversations, notifications
from helpdesk.services.common import get_or_404
from helpdesk.services.conversations import NewMessage
from helpdesk.uow import UnitOfWork

MAX_ACTIONS = 20
MAX_TEXT = 5000  # a message or a note
MAX_NOTICE = notifications.MAX_TEXT
MAX_TAGS = 20
MAX_TAG = 64
NOTIFICATION_KIND = "rule"


class ActionType(StrEnum):
    SET_QUEUE = "set_queue"
    SET_PRIORITY = "set_priority"
    SET_STATUS = "set_status"
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    ASSIGN = "assign"
    ADD_NOTE = "add_note"
    NOTIFY = "notify"


@dataclass(frozen=True)
class Known:
    """The rows actions may name: existing queues, staff who can be given conversations."""

    queue_ids: frozenset[int]
    agent_ids: frozenset[int]


Check = Callable[[Any, str, Known], Any]


def _text(limit: int) -> Check:
    def check(value: Any, path: str, _known: Known) -> str:
        if not isinstance(value, str) or not value.strip():
            _fail(path, "must be a non-empty text")
        if len(value) > limit:
            _fail(path, f"at most {limit} characters")
        return value.strip()
    return check


def _choice(enum: type[StrEnum]) -> Check:
    def check(value: Any, path: str, _known: Known) -> str:
        if value not in {m.value for m in enum}:
            _fail(path, f"{value!r} is not one of {', '.join(m.value for m in enum)}")
        return str(value)
    return check


def _queue(value: Any, path: str, known: Known) -> int:
    if _an_id(value, path) not in known.queue_ids:
        _fail(path, f"queue {value} does not exist")
    return value


def _agent(value: Any, path: str, known: Known) -> int:
    if _an_id(value, path) not in known.agent_ids:
        _fail(path, f"user {value} is not an active agent, supervisor or admin")
    return value


def _agents(value: Any, path: str, known: Known) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        _fail(path, f"a list of at most {MAX_TAGS} user ids")
    return sorted({_agent(v, f"{path}[{i}]", known) for i, v in enumerate(value)})


def _tags(value: Any, path: str, _known: Known) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TAGS:
        _fail(path, f"a list of 1 to {MAX_TAGS} tags")
    return sorted({_text(MAX_TAG)(v, f"{path}[{i}]", _known).lower()
                   for i, v in enumerate(value)})


def _flag(value: Any, path: str, _known: Known) -> bool:
    if not isinstance(value, bool):
        _fail(path, "must be true or false")
    return value


# Each type's parameters: name → (required, check).
PARAMETERS: dict[ActionType, dict[str, tuple[bool, Check]]] = {
    ActionType.SET_QUEUE: {"queue_id": (True, _queue)},
    ActionType.SET_PRIORITY: {"priority": (True, _choice(Priority))},
    ActionType.SET_STATUS: {"status": (True, _choice(ConversationStatus)),
                            "message": (False, _text(MAX_TEXT))},
    ActionType.ADD_TAGS: {"tags": (True, _tags)},
    ActionType.REMOVE_TAGS: {"tags": (True, _tags)},
    ActionType.ASSIGN: {"agent_id": (True, _agent)},
    ActionType.ADD_NOTE: {"body": (True, _text(MAX_TEXT))},
    ActionType.NOTIFY: {"text": (True, _text(MAX_NOTICE)), "user_ids": (False, _agents),
                        "assignee": (False, _flag)},
}


def parse(data: Any, known: Known, *, path: str = "actions") -> list[dict[str, Any]]:
    """The actions as stored (checked, normalised), or ValidationFailed naming the bad part
    (``field`` is its path, e.g. ``actions[1].priority``)."""
    if not isinstance(data, list) or not 1 <= len(data) <= MAX_ACTIONS:
        _fail(path, f"a list of 1 to {MAX_ACTIONS} actions")
    return [_action(item, f"{path}[{i}]", known) for i, item in enumerate(data)]


def _action(data: Any, path: str, known: Known) -> dict[str, Any]:
    if not isinstance(data, dict) or "type" not in data:
        _fail(path, 'an action is {"type": ..., <its parameters>}')
    kind = data["type"]
    if kind not in {t.value for t in ActionType}:
        _fail(f"{path}.type", f"{kind!r} is not one of {', '.join(t.value for t in ActionType)}")
    parameters = PARAMETERS[ActionType(kind)]
    unknown = sorted(set(data) - {"type", *parameters})
    if unknown:
        _fail(f"{path}.{unknown[0]}", f"{kind} does not take {unknown[0]}")
    checked: dict[str, Any] = {"type": kind}
    for name, (required, check) in parameters.items():
        if name in data:
            checked[name] = check(data[name], f"{path}.{name}", known)
        elif required:
            _fail(f"{path}.{name}", f"{kind} needs {name}")
    if kind == ActionType.NOTIFY and not (checked.get("user_ids") or checked.get("assignee")):
        _fail(f"{path}.user_ids", "notify needs user_ids or assignee: true")
    return checked


def _an_id(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, "must be an id (a whole number)")
    return value


def _fail(path: str, message: str) -> NoReturn:
    raise ValidationFailed(f"{path}: {message}", field=path)


# --- applying ------------------------------------------------------------------------------

def apply(uow: UnitOfWork, rule: Rule, conversation: Conversation,
          action: dict[str, Any]) -> None:
    """Apply one checked action as ``rule`` (the caller commits)."""
    APPLY[ActionType(action["type"])](uow, Actor("automation", rule.id), rule, conversation,
                                      action)


def _set_queue(uow: UnitOfWork, actor: Actor, _rule: Rule, conversation: Conversation,
               action: dict[str, Any]) -> None:
    """Move it to the queue; an assignee who is not one of its members lets go of it."""
    queue = get_or_404(uow.session, Queue, action["queue_id"])
    keeps = conversation.assignee_id in queue.member_ids
    conversations.assign(uow, actor, conversation.id, queue_id=queue.id,
                         assignee_id=conversation.assignee_id if keeps else None)


def _set_priority(uow: UnitOfWork, actor: Actor, _rule: Rule, conversation: Conversation,
                  action: dict[str, Any]) -> None:
    conversations.set_priority(uow, actor, conversation.id, Priority(action["priority"]))


def _set_status(uow: UnitOfWork, actor: Actor, rule: Rule, conversation: Conversation,
                action: dict[str, Any]) -> None:
    if action.get("message"):
        conversations.post_message(uow, conversation.id, NewMessage(
            body=action["message"], author=_signer(rule, conversation)))
    conversations.change_status(uow, actor, conversation.id,
                                ConversationStatus(action["status"]))


def _add_tags(uow: UnitOfWork, actor: Actor, _rule: Rule, conversation: Conversation,
              action: dict[str, Any]) -> None:
    conversations.set_tags(uow, actor, conversation.id, [*conversation.tags, *action["tags"]])


def _remove_tags(uow: UnitOfWork, actor: Actor, _rule: Rule, conversation: Conversation,
                 action: dict[str, Any]) -> None:
    kept = [t for t in conversation.tags if t not in action["tags"]]
    conversations.set_tags(uow, actor, conversation.id, kept)


def _assign(uow: UnitOfWork, actor: Actor, _rule: Rule, conversation: Conversation,
            action: dict[str, Any]) -> None:
    conversations.assign(uow, actor, conversation.id, assignee_id=action["agent_id"])


def _add_note(uow: UnitOfWork, _actor: Actor, rule: Rule, conversation: Conversation,
              action: dict[str, Any]) -> None:
    conversations.post_message(uow, conversation.id, NewMessage(
        body=action["body"], author=_signer(rule, conversation), internal=True))


def _notify(uow: UnitOfWork, actor: Actor, _rule: Rule, conversation: Conversation,
            action: dict[str, Any]) -> None:
    recipients = set(action.get("user_ids", []))
    if action.get("assignee") and conversation.assignee_id is not None:
        recipients.add(conversation.assignee_id)
    notifications.notify(uow, recipients, kind=NOTIFICATION_KIND, text=action["text"],
                         conversation_id=conversation.id, actor=actor)


def _signer(rule: Rule, conversation: Conversation) -> Actor:
    author = conversation.assignee_id or rule.created_by_id
    if author is None:
        raise ValidationFailed("nobody to sign the message: the conversation has no assignee "
                               "and the rule no author", field="actions")
    return Actor("agent", author)


APPLY: dict[ActionType, Callable[[UnitOfWork, Actor, Rule, Conversation, dict[str, Any]],
                                 None]] = {
    ActionType.SET_QUEUE: _set_queue, ActionType.SET_PRIORITY: _set_priority,
    ActionType.SET_STATUS: _set_status, ActionType.ADD_TAGS: _add_tags,
    ActionType.REMOVE_TAGS: _remove_tags, ActionType.ASSIGN: _assign,
    ActionType.ADD_NOTE: _add_note, ActionType.NOTIFY: _notify,
}
