"""Build domain objects through the real services (so events and history are recorded)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from flask import Flask
from sqlalchemy import select

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    BusinessCalendar,
    Channel,
    Conversation,
    Customer,
    CustomFieldDefinition,
    IdentityKind,
    Macro,
    Message,
    Organisation,
    Queue,
    Role,
    Rule,
    SavedView,
    Segment,
    Site,
    SlaPolicy,
    User,
)
from helpdesk.privacy import exports as privacy_exports
from helpdesk.services import (
    automation,
    conversations,
    custom_fields,
    customer_imports,
    customers,
    macros,
    organisations,
    queues,
    saved_views,
    segments,
    sites,
    sla_settings,
    staff,
)
from helpdesk.services.conversations import NewMessage
from helpdesk.uow import UnitOfWork
from knowledge_base import articles, gaps
from knowledge_base.gaps import service as gap_service
from knowledge_base.models import Article, ArticleContent, UnansweredQuestion

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
            return staff.create_user(uow, SYSTEM, email=email, role=role, password=PASSWORD,
                                     **{"name": email.split("@")[0], **profile})

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

    def macro(self, owner: User | None = None, **fields) -> Macro:
        """A personal macro of ``owner``, or a shared one when there is none."""
        fields = {"name": f"Macro {next(_counter)}", "body": "Hello {{customer.name}}",
                  **fields}
        with self._unit() as uow:
            return macros.create_macro(uow, Actor("agent", owner.id) if owner else SYSTEM,
                                       shared=owner is None, may_share=True, **fields)

    def custom_field(self, **fields) -> CustomFieldDefinition:
        """A custom field definition (by default a text field)."""
        fields = {"key": f"field_{next(_counter)}", "label": "Field", "type": "text", **fields}
        with self._unit() as uow:
            return custom_fields.create_field(uow, SYSTEM, **fields)

    def organisation(self, **fields) -> Organisation:
        """An organisation (by default with no domain)."""
        fields = {"name": f"Organisation {next(_counter)}", **fields}
        with self._unit() as uow:
            return organisations.create_organisation(uow, SYSTEM, **fields)

    def rule(self, author: User | None = None, **fields) -> Rule:
        """An automation rule (by default: tag ``auto`` on each email received)."""
        fields = {"name": f"Rule {next(_counter)}", "trigger": "email_received",
                  "actions": [{"type": "add_tags", "tags": ["auto"]}], **fields}
        with self._unit() as uow:
            return automation.create_rule(
                uow, Actor("agent", author.id) if author else SYSTEM, **fields)

    def calendar(self, **fields) -> BusinessCalendar:
        """Business hours: Monday to Friday, 09:00-12:30 and 13:30-18:00 in Paris."""
        office = ["09:00-12:30", "13:30-18:00"]
        fields = {"name": f"Calendar {next(_counter)}", "timezone": "Europe/Paris",
                  "hours": {day: office for day in ("mon", "tue", "wed", "thu", "fri")},
                  **fields}
        with self._unit() as uow:
            return sla_settings.create_calendar(uow, SYSTEM, **fields)

    def sla_policy(self, **fields) -> SlaPolicy:
        """An SLA policy (by default in wall-clock time, targets for normal priority)."""
        fields = {"name": f"Policy {next(_counter)}", "targets": {
            "normal": {"first_response": 60, "next_response": 120, "resolution": 480}},
            **fields}
        with self._unit() as uow:
            return sla_settings.create_policy(uow, SYSTEM, **fields)

    def segment(self, owner: User | None = None, conditions: dict | None = None,
                **fields) -> Segment:
        """A personal segment of ``owner`` (shared when there is none); by default of every
        customer."""
        actor = Actor("agent", owner.id) if owner else SYSTEM
        fields = {"name": f"Segment {next(_counter)}", **fields}
        with self._unit() as uow:
            return segments.create_segment(uow, actor, conditions=conditions or {"all": []},
                                           shared=owner is None, may_share=True, **fields)

    def customer_import(self, text: str = "name,email\nAda,ada.import@example.com\n") -> int:
        """A customer import, stored and waiting for the worker; returns its id."""
        with self._unit() as uow:
            return customer_imports.start_import(uow, SYSTEM, filename="customers.csv",
                                                 content=text.encode()).id

    def saved_view(self, owner: User | None = None, **filters) -> SavedView:
        """A personal view of ``owner`` (shared when there is none) with these filters."""
        actor = Actor("agent", owner.id) if owner else SYSTEM
        with self._unit() as uow:
            return saved_views.create_view(
                uow, actor, name=f"View {next(_counter)}", shared=owner is None,
                may_share=True, filters=saved_views.ViewFilters(**filters))

    def data_request(self, customer: Customer | None = None) -> int:
        """An export request of ``customer``'s data, waiting for the worker; its id."""
        customer = customer or self.customer()
        with self._unit() as uow:
            return privacy_exports.request_export(uow, SYSTEM, customer.id).id

    def content_gap(self, question: str = "Do you sell gift cards?",
                    reply: str | None = "Yes, from 10 euros, in every shop.",
                    customer: Customer | None = None) -> int:
        """A clustered content gap: a customer question the assistant escalated, which an
        agent then answered publicly (unless ``reply`` is None); returns the gap's id."""
        conversation = self.conversation(customer, body=question)
        agent = Actor("agent", self.user().id)
        with self._unit() as uow:
            if reply is not None:
                conversations.post_message(uow, conversation.id,
                                           NewMessage(body=reply, author=agent))
            asked = uow.session.scalar(select(Message).where(
                Message.conversation_id == conversation.id).order_by(Message.seq))
            gap_service.remember_question(uow.session, asked, "low_confidence", "en")
            uow.commit()
        with self.app.app_context():
            gaps.refresh_now()
            return db.session.scalar(select(UnansweredQuestion.cluster_id).where(
                UnansweredQuestion.message_id == asked.id))


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
