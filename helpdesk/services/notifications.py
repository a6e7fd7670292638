"""Notifying staff: one row per person notified, pushed to their browser after commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import Notification, User
from helpdesk.orm import utcnow
from helpdesk.uow import UnitOfWork

MAX_TEXT = 500
UNREAD_SHOWN = 50


def notify(uow: UnitOfWork, user_ids: Iterable[int], *, kind: str, text: str,
           conversation_id: int | None = None, actor: Actor = SYSTEM) -> list[Notification]:
    """Notify each active staff member of ``user_ids`` once (in the caller's transaction:
    the caller commits). Unknown or deactivated users are skipped."""
    wanted = sorted(set(user_ids))
    active = set(uow.session.scalars(select(User.id).where(User.id.in_(wanted), User.active)))
    rows = [Notification(user_id=user_id, kind=kind, text=text[:MAX_TEXT],
                         conversation_id=conversation_id)
            for user_id in wanted if user_id in active]
    uow.session.add_all(rows)
    uow.session.flush()
    for row in rows:
        uow.record(events.NotificationCreated(
            actor=actor, conversation_id=conversation_id, notification_id=row.id,
            user_id=row.user_id, kind=row.kind, text=row.text))
    return rows


def unread(session: Session, user_id: int) -> list[Notification]:
    """The user's unread notifications, newest first (at most ``UNREAD_SHOWN``)."""
    return list(session.scalars(
        select(Notification).where(Notification.user_id == user_id,
                                   Notification.read_at.is_(None))
        .order_by(Notification.id.desc()).limit(UNREAD_SHOWN)))


def mark_read(uow: UnitOfWork, user_id: int, notification_ids: Iterable[int]) -> int:
    """Mark the user's own notifications read (others' ids are ignored); how many changed."""
    changed = uow.session.execute(
        update(Notification).where(Notification.user_id == user_id,
                                   Notification.id.in_(list(notification_ids)),
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow())).rowcount
    uow.commit()
    return changed
