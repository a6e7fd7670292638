"""The steps a demo story is written in; each one is applied through one real service."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from html import escape

from helpdesk.events import SYSTEM, Actor
from helpdesk.models import Channel, ConversationStatus, Customer, IdentityKind, Priority
from helpdesk.services import conversations, customer_merges, customers
from helpdesk.services.conversations import NewMessage
from helpdesk.uow import UnitOfWork

# Who a step is done by: one of these, or a staff key from ``brand.STAFF``.
ASSIGNEE, CUSTOMER, BOT, SYSTEM_ACTOR = "assignee", "customer", "bot", "system"


@dataclass(frozen=True)
class Cast:
    """Database ids of the demo's staff, queues and customers, by key."""

    staff: dict[str, int]
    queues: dict[str, int]
    customers: dict[str, int]


@dataclass
class StoryRun:
    """The state of one story while it is being played."""

    uow: UnitOfWork
    cast: Cast
    customer_id: int
    channel: Channel
    queue_id: int
    conversation_id: int = 0
    assignee_id: int | None = None

    def actor(self, who: str) -> Actor:
        if who == CUSTOMER:
            return Actor("customer", self.customer_id)
        if who == BOT:
            return Actor("bot")
        if who == SYSTEM_ACTOR:
            return SYSTEM
        if who == ASSIGNEE:
            if self.assignee_id is None:
                raise LookupError("this story step needs an assigned agent")
            return Actor("agent", self.assignee_id)
        return Actor("agent", self.cast.staff[who])


@dataclass(frozen=True)
class Step(ABC):
    # Hours since the previous step; None means the channel's usual pace.
    after_hours: float | None = field(default=None, kw_only=True)

    @abstractmethod
    def apply(self, run: StoryRun) -> None:
        """Play the step through its service."""


@dataclass(frozen=True)
class Say(Step):
    """A message, or an internal note; ``channel`` when it differs from the conversation's."""

    who: str
    text: str
    internal: bool = False
    channel: Channel | None = None

    def message(self, run: StoryRun) -> NewMessage:
        inbound_email = self.who == CUSTOMER and (self.channel or run.channel) == Channel.EMAIL
        return NewMessage(body=self.text, author=run.actor(self.who), internal=self.internal,
                          channel=self.channel, html=_paragraphs(self.text) if inbound_email
                          else None)

    def apply(self, run: StoryRun) -> None:
        conversations.post_message(run.uow, run.conversation_id, self.message(run))


@dataclass(frozen=True)
class Handoff(Step):
    """The assistant hands the conversation over to the story's queue."""

    def apply(self, run: StoryRun) -> None:
        conversations.assign(run.uow, run.actor(BOT), run.conversation_id, assignee_id=None,
                             queue_id=run.queue_id)


@dataclass(frozen=True)
class Assign(Step):
    """Give the conversation to ``who``; ``by`` defaults to them taking it."""

    who: str
    by: str | None = None

    def apply(self, run: StoryRun) -> None:
        assignee_id = run.cast.staff[self.who]
        conversations.assign(run.uow, run.actor(self.by or self.who), run.conversation_id,
                             assignee_id=assignee_id)
        run.assignee_id = assignee_id


@dataclass(frozen=True)
class Status(Step):
    status: ConversationStatus
    by: str = ASSIGNEE

    def apply(self, run: StoryRun) -> None:
        conversations.change_status(run.uow, run.actor(self.by), run.conversation_id,
                                    self.status)


@dataclass(frozen=True)
class Prioritise(Step):
    priority: Priority
    by: str = ASSIGNEE

    def apply(self, run: StoryRun) -> None:
        conversations.set_priority(run.uow, run.actor(self.by), run.conversation_id,
                                   self.priority)


@dataclass(frozen=True)
class Tags(Step):
    names: tuple[str, ...]
    by: str = ASSIGNEE

    def apply(self, run: StoryRun) -> None:
        conversations.set_tags(run.uow, run.actor(self.by), run.conversation_id,
                               list(self.names))


@dataclass(frozen=True)
class AddIdentity(Step):
    """The agent records a new way to reach the customer (e.g. an email given on the phone)."""

    kind: IdentityKind
    value: str
    by: str = ASSIGNEE

    def apply(self, run: StoryRun) -> None:
        customers.add_identity(run.uow, run.actor(self.by), run.customer_id, self.kind,
                               self.value)


@dataclass(frozen=True)
class Consent(Step):
    """Change some consent flags, keeping the others."""

    flags: tuple[tuple[str, bool], ...]
    by: str = ASSIGNEE

    def apply(self, run: StoryRun) -> None:
        current = run.uow.session.get_one(Customer, run.customer_id).consents
        customers.update_customer(run.uow, run.actor(self.by), run.customer_id,
                                  consents={**current, **dict(self.flags)})


@dataclass(frozen=True)
class Merge(Step):
    """The story's customer turns out to be ``into``: fold their profile into that one."""

    into: str
    by: str = ASSIGNEE

    def apply(self, run: StoryRun) -> None:
        target = customer_merges.merge_customers(run.uow, run.actor(self.by),
                                                 run.customer_id, run.cast.customers[self.into])
        run.customer_id = target.id


def customer(text: str, *, after_hours: float | None = None,
             channel: Channel | None = None) -> Say:
    return Say(CUSTOMER, text, channel=channel, after_hours=after_hours)


def bot(text: str) -> Say:
    return Say(BOT, text)


def system(text: str) -> Say:
    return Say(SYSTEM_ACTOR, text)


def agent(text: str, *, who: str = ASSIGNEE, after_hours: float | None = None,
          channel: Channel | None = None) -> Say:
    return Say(who, text, channel=channel, after_hours=after_hours)


def note(text: str, *, who: str = ASSIGNEE) -> Say:
    return Say(who, text, internal=True)


def _paragraphs(text: str) -> str:
    """The HTML part an email client would have sent along with the text."""
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
