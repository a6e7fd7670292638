"""Build domain objects through the real services (so events and history are recorded)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from flask import Flask

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import (
    Channel,
    Conversation,
    Customer,
    IdentityKind,
    Queue,
    Role,
    Site,
    User,
)
from helpdesk.services import conversations, customers, queues, sites, staff
from helpdesk.services.conversations import NewMessage
from helpdesk.uow import UnitOfWork
from knowledge_base import articles
from knowledge_base.models import Article, ArticleContent

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


class Factory:
    def __init__(self, app: Flask) -> None:
        self.app = app

    @contextmanager
    def _unit(self) -> Iterator[UnitOfWork]:
        # Its own app context: a test's requests must not share one (nor its session, nor g).
        with self.app.app_context(), unit_of_work() as uow:
            yield uow

    def user(self, role: Role = Role.AGENT, email: str | None = None, **profile) -> User:
        email = email or f"{role.value}{next(_counter)}@staff.example"
        with self._unit() as uow:
            return staff.create_user(uow, SYSTEM, email=email, name=email.split("@")[0],
                                     role=role, password=PASSWORD, **profile)

    def token(self, user: User, scopes: list[str]) -> str:
        with self._unit() as uow:
            return staff.issue_token(uow, SYSTEM, user.id, name="test", scopes=scopes)[1]

    def customer(self, name: str = "Ada Client", email: str | None = None) -> Customer:
        email = email or f"customer{next(_counter)}@example.com"
        with self._unit() as uow:
            return customers.create_customer(uow, SYSTEM, name=name,
                                             identities=[(IdentityKind.EMAIL, email)])

    def queue(self, name: str | None = None, member_ids: list[int] = ()) -> Queue:
        with self._unit() as uow:
            return queues.create_queue(uow, SYSTEM, name=name or f"Queue {next(_counter)}",
                                       channels=["chat", "email"], member_ids=list(member_ids))

    def site(self, name: str = "Shop", **settings) -> Site:
        with self._unit() as uow:
            return sites.create_site(uow, SYSTEM, name=name, **settings)

    def conversation(self, customer: Customer | None = None, channel: Channel = Channel.EMAIL,
                     body: str = "My parcel never arrived", queue_id: int | None = None,
                     subject: str = "Where is my parcel?") -> Conversation:
        customer = customer or self.customer()
        first = NewMessage(body=body, author=Actor("customer", customer.id))
        with self._unit() as uow:
            return conversations.open_conversation(
                uow, Actor("customer", customer.id), customer_id=customer.id, channel=channel,
                subject=subject, queue_id=queue_id, first_message=first)

    def article(self, title: str = "Returns", body: str = "Within 30 days.",
                **content) -> Article:
        """A draft article (its version 1), written by the system."""
        with self._unit() as uow:
            return articles.create_article(uow, SYSTEM, ArticleContent(title=title, body=body,
                                                                       **content))


def raw_email(sender: str = "ada@example.com", subject: str = "Where is my parcel?",
              body: str = "My parcel never arrived.", *, name: str = "",
              to: str = "support@shop.example", cc: Iterable[str] = (),
              message_id: str | None = None, in_reply_to: str | None = None,
              references: Iterable[str] = (), headers: dict[str, str] | None = None,
              attachments: Iterable[tuple[str, str, bytes]] = ()) -> bytes:
    """An email as a mail client sends it: UTF-8, a fresh Message-ID unless one is given
    (``message_id=""``: none), ``attachments`` as (filename, content type, bytes)."""
    message = EmailMessage()
    message["From"] = formataddr((name, sender))
    message["To"] = to
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = formatdate(1_790_000_000 + next(_counter), usegmt=True)
    if message_id != "":
        message["Message-ID"] = f"<{message_id or f'm{next(_counter)}@mail.example'}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{r}>" for r in references)
    for header, value in (headers or {}).items():
        message[header] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
