"""Read-side queries shared by the API and the agent UI (no writes here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from helpdesk.errors import NotFound
from helpdesk.models import (
    Conversation,
    ConversationStatus,
    ConversationTag,
    Customer,
    Identity,
    Message,
    Priority,
    Queue,
    Role,
    User,
)
from helpdesk.models.conversation import Channel, Owner
from helpdesk.services import conversation_search, segments

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class ConversationFilter:
    """Every filter is optional; lists mean "any of"."""

    statuses: list[ConversationStatus] = field(default_factory=list)
    queue_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    customer_id: int | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    owner: Owner | None = None
    tag: str | None = None
    search: str | None = None  # full-text (helpdesk.services.conversation_search)
    segment_id: int | None = None  # customers in this segment (helpdesk.services.segments)


class Sort(StrEnum):
    PRIORITY = "priority"  # most urgent first, then the latest activity
    RECENT = "recent"  # the latest activity first
    OLDEST = "oldest"  # the oldest activity first: who has waited longest
    RELEVANCE = "relevance"  # the best search match first (without a search: priority)


def paginate(session: Session, query: Select, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total or 0, page, per_page)


def list_conversations(session: Session, filters: ConversationFilter, *,
                       sort: Sort | None = None, page: int = 1,
                       per_page: int = 25) -> Page[Conversation]:
    """Conversations matching the filters; by default the best search matches first when
    searching, else the most urgent and most recent first."""
    query = _filtered_conversations(session, filters).options(
        selectinload(Conversation.customer).selectinload(Customer.identities),
        selectinload(Conversation.assignee), selectinload(Conversation.queue),
        selectinload(Conversation.tag_rows))
    sort = sort or (Sort.RELEVANCE if filters.search else Sort.PRIORITY)
    return paginate(session, _sorted(query, filters, sort), page, per_page)


def count_conversations(session: Session, filters: ConversationFilter) -> int:
    """How many conversations match the filters (the inbox counters)."""
    query = _filtered_conversations(session, filters).with_only_columns(
        func.count(Conversation.id))
    return session.scalar(query) or 0


def _sorted(query: Select, filters: ConversationFilter, sort: Sort) -> Select:
    activity = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    urgent_first = (_priority_rank().desc(), activity.desc(), Conversation.id.desc())
    if sort == Sort.RECENT:
        return query.order_by(activity.desc(), Conversation.id.desc())
    if sort == Sort.OLDEST:
        return query.order_by(activity, Conversation.id)
    if sort == Sort.RELEVANCE and conversation_search.parse(filters.search or "").required:
        return query.order_by(conversation_search.SCORE.desc(), *urgent_first)
    return query.order_by(*urgent_first)


def conversation_messages(session: Session, conversation_id: int, *, after_seq: int = 0,
                          include_internal: bool = True, limit: int = 500) -> list[Message]:
    """The thread in ``seq`` order, from ``after_seq`` (exclusive)."""
    query = (select(Message).where(Message.conversation_id == conversation_id,
                                   Message.seq > after_seq)
             .options(selectinload(Message.attachments)).order_by(Message.seq).limit(limit))
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    return list(session.scalars(query))


def list_customers(session: Session, *, search: str | None = None,
                   segment_id: int | None = None, page: int = 1,
                   per_page: int = 25) -> Page[Customer]:
    """Live (not merged-away) customers, searchable by name or identity value, optionally
    those of one segment."""
    query = (filtered_customers(session, search=search, segment_id=segment_id)
             .options(selectinload(Customer.identities), selectinload(Customer.organisation))
             .order_by(Customer.id.desc()))
    return paginate(session, query, page, per_page)


def filtered_customers(session: Session, *, search: str | None = None,
                       segment_id: int | None = None) -> Select:
    """Live customers matching a search (name or identity value) and a segment, unordered
    (the list above, the CSV export)."""
    query = select(Customer).where(Customer.merged_into_id.is_(None))
    if search:
        pattern = f"%{search.strip().lower()}%"
        matching = select(Identity.customer_id).where(func.lower(Identity.value).like(pattern))
        query = query.where(or_(func.lower(Customer.name).like(pattern),
                                Customer.id.in_(matching)))
    if segment_id is not None:
        query = query.where(Customer.id.in_(segments.member_ids(session, segment_id)))
    return query


def all_staff(session: Session) -> list[User]:
    """Every staff account (deactivated ones too), by role then email."""
    roles = case({role: rank for rank, role in enumerate(Role)}, value=User.role)
    return list(session.scalars(select(User).order_by(roles, User.email)))


def all_queues(session: Session) -> list[Queue]:
    """Every queue with its members, by name."""
    return list(session.scalars(select(Queue).options(selectinload(Queue.memberships))
                                .order_by(Queue.name)))


def staff_by_email(session: Session, email: str) -> User:
    """The staff account with this email (any case), or NotFound naming it."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no staff account has the email {email.strip()!r}", field="email")
    return user


def _filtered_conversations(session: Session, f: ConversationFilter) -> Select:
    query = select(Conversation)
    conditions = [
        (f.statuses, lambda: Conversation.status.in_(f.statuses)),
        (f.queue_id, lambda: Conversation.queue_id == f.queue_id),
        (f.assignee_id, lambda: Conversation.assignee_id == f.assignee_id),
        (f.unassigned, lambda: Conversation.assignee_id.is_(None)),
        (f.customer_id, lambda: Conversation.customer_id == f.customer_id),
        (f.channel, lambda: Conversation.channel == f.channel),
        (f.priority, lambda: Conversation.priority == f.priority),
        (f.owner, lambda: Conversation.owner == f.owner),
        (f.tag, lambda: Conversation.id.in_(select(ConversationTag.conversation_id)
                                            .where(ConversationTag.name == f.tag.lower()))),
        (f.segment_id, lambda: Conversation.customer_id.in_(
            segments.member_ids(session, f.segment_id))),
    ]
    for present, condition in conditions:
        if present:
            query = query.where(condition())
    if f.search:
        query = conversation_search.narrowed(session, query, conversation_search.parse(f.search))
    return query


def _priority_rank() -> ColumnElement[int]:
    return case({p: rank for rank, p in enumerate(Priority)}, value=Conversation.priority)
