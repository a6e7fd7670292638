"""Bulk actions on the inbox list: one change applied to many conversations, each in its
own transaction, with a result per conversation (what failed and why)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Conversation, ConversationStatus, Priority
from helpdesk.services import conversations
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

MAX_ITEMS = 200
MAX_TAG = 64


class BulkAction(StrEnum):
    ASSIGN = "assign"  # to ``assignee_id``; none: back to the queue
    STATUS = "status"
    PRIORITY = "priority"
    QUEUE = "queue"  # handed to the queue ``queue_id``, unassigned
    ADD_TAG = "add_tag"


@dataclass(frozen=True)
class BulkChange:
    """The action and the value it needs (the others stay empty)."""

    action: BulkAction
    assignee_id: int | None = None
    status: ConversationStatus | None = None
    priority: Priority | None = None
    queue_id: int | None = None
    tag: str | None = None


@dataclass(frozen=True)
class ItemResult:
    conversation_id: int
    ok: bool
    code: str | None = None  # the error's code when it failed (not_found, conflict…)
    error: str | None = None


def apply(uow: UnitOfWork, actor: Actor, conversation_ids: list[int],
          change: BulkChange) -> list[ItemResult]:
    """Apply ``change`` to each conversation (once each, in the order given). One that fails
    (gone, closed, a status move the lifecycle forbids…) leaves the others changed."""
    _check(change, conversation_ids)
    action = ACTIONS[change.action]
    return [_apply_one(uow, actor, ident, change, action)
            for ident in dict.fromkeys(conversation_ids)]


def _apply_one(uow: UnitOfWork, actor: Actor, conversation_id: int, change: BulkChange,
               action: Action) -> ItemResult:
    try:
        action(uow, actor, conversation_id, change)
    except DomainError as exc:
        uow.rollback()
        return ItemResult(conversation_id, ok=False, code=exc.code, error=exc.message)
    return ItemResult(conversation_id, ok=True)


def _check(change: BulkChange, conversation_ids: list[int]) -> None:
    if not 1 <= len(conversation_ids) <= MAX_ITEMS:
        raise ValidationFailed(f"send between 1 and {MAX_ITEMS} conversation ids",
                               field="conversation_ids")
    needed = {BulkAction.STATUS: "status", BulkAction.PRIORITY: "priority",
              BulkAction.QUEUE: "queue_id", BulkAction.ADD_TAG: "tag"}.get(change.action)
    if needed and not getattr(change, needed):
        raise ValidationFailed(f"the {change.action.value} action needs {needed}",
                               field=needed)
    if change.tag is not None and len(change.tag.strip()) > MAX_TAG:
        raise ValidationFailed(f"a tag is at most {MAX_TAG} characters", field="tag")


def _assign(uow: UnitOfWork, actor: Actor, conversation_id: int, change: BulkChange) -> None:
    conversations.assign(uow, actor, conversation_id, assignee_id=change.assignee_id)


def _status(uow: UnitOfWork, actor: Actor, conversation_id: int, change: BulkChange) -> None:
    assert change.status is not None  # _check
    conversations.change_status(uow, actor, conversation_id, change.status)


def _priority(uow: UnitOfWork, actor: Actor, conversation_id: int, change: BulkChange) -> None:
    assert change.priority is not None  # _check
    conversations.set_priority(uow, actor, conversation_id, change.priority)


def _queue(uow: UnitOfWork, actor: Actor, conversation_id: int, change: BulkChange) -> None:
    conversations.assign(uow, actor, conversation_id, assignee_id=None,
                         queue_id=change.queue_id)


def _add_tag(uow: UnitOfWork, actor: Actor, conversation_id: int, change: BulkChange) -> None:
    # Locked before reading the tags: a tag added meanwhile is not lost.
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    conversations.set_tags(uow, actor, conversation_id, [*conversation.tags, change.tag or ""])


Action = Callable[[UnitOfWork, Actor, int, BulkChange], None]
ACTIONS: dict[BulkAction, Action] = {
    BulkAction.ASSIGN: _assign, BulkAction.STATUS: _status, BulkAction.PRIORITY: _priority,
    BulkAction.QUEUE: _queue, BulkAction.ADD_TAG: _add_tag,
}
