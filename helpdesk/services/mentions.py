"""@mentions in internal notes: ``@`` and a colleague's handle notifies the colleague.

A staff member's handles are their email's local part (``@marie.dupont`` for
marie.dupont@shop.example) and their name written as one word (``@marie.dupont`` for
"Marie Dupont", accents dropped). A handle that fits two people names nobody.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.auth.policy import Permission, allowed
from helpdesk.events import Actor
from helpdesk.models import Conversation, Message, User
from helpdesk.services import notifications
from helpdesk.uow import UnitOfWork

# Not after a word character, ``@`` or a dot, so an email address in a note is no mention.
MENTION = re.compile(r"(?<![\w@.])@([a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)", re.IGNORECASE)
EXCERPT = 200


@dataclass(frozen=True)
class Mention:
    handle: str
    user_id: int


def handles_in(text: str) -> list[str]:
    """The handles written after ``@``, lower-cased, each once, in order."""
    return list(dict.fromkeys(m.group(1).lower() for m in MENTION.finditer(text)))


def name_handle(name: str) -> str:
    """A name as one handle: "Éloïse Martin" → ``eloise.martin``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", ".", plain.lower()).strip(".")


def handle_directory(session: Session) -> dict[str, User]:
    """Each unambiguous handle of the active staff who work conversations."""
    claims: dict[str, set[int]] = defaultdict(set)
    users = {u.id: u for u in session.scalars(select(User).where(User.active))
             if allowed(u.role, Permission.CONVERSATIONS_READ)}
    for user in users.values():
        for handle in (user.email.split("@")[0].lower(), name_handle(user.name)):
            if handle:
                claims[handle].add(user.id)
    return {handle: users[next(iter(ids))] for handle, ids in claims.items() if len(ids) == 1}


def mentions_in(session: Session, text: str) -> list[Mention]:
    """The colleagues ``text`` mentions; unknown or ambiguous handles are left out."""
    directory = handle_directory(session)
    return [Mention(handle, directory[handle].id) for handle in handles_in(text)
            if handle in directory]


def notify_mentioned(uow: UnitOfWork, conversation: Conversation, message: Message) -> None:
    """Keep a note's mentions on it (to highlight them) and notify those colleagues, the
    author excepted, in the note's transaction."""
    found = mentions_in(uow.session, message.body)
    if not found:
        return
    message.meta = {**message.meta,
                    "mentions": [{"handle": m.handle, "user_id": m.user_id} for m in found]}
    author = uow.session.get(User, message.author_id) if message.author_id else None
    # Who and what, in no language: the page names the kind in the reader's own.
    text = f"{author.name if author else '?'}: {message.body[:EXCERPT]}"
    notifications.notify(uow, {m.user_id for m in found} - {message.author_id}, kind="mention",
                         text=text, conversation_id=conversation.id,
                         actor=Actor("agent", message.author_id))
