"""Who and which queue an id stands for, loaded once per page."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.models import Queue, Role, User


@dataclass(frozen=True)
class Directory:
    """Staff and queues by id: names for the history, choices for the forms."""

    users: dict[int, User]
    queues: dict[int, Queue]

    def user_name(self, user_id: int | None) -> str:
        user = self.users.get(user_id) if user_id is not None else None
        return user.name if user else _("Agent #%(id)s", id=user_id)

    def queue_name(self, queue_id: int | None) -> str:
        queue = self.queues.get(queue_id) if queue_id is not None else None
        return queue.name if queue else _("Queue #%(id)s", id=queue_id)

    @property
    def assignable(self) -> list[User]:
        """Active staff who work conversations, by name."""
        return sorted((u for u in self.users.values()
                       if u.active and u.role != Role.KNOWLEDGE_MANAGER),
                      key=lambda u: u.name.lower())

    @property
    def queue_list(self) -> list[Queue]:
        return sorted(self.queues.values(), key=lambda q: q.name.lower())


def load_directory(session: Session) -> Directory:
    users = session.scalars(select(User))
    queues = session.scalars(select(Queue))
    return Directory({u.id: u for u in users}, {q.id: q for q in queues})
