"""Customer satisfaction (CSAT): the customer's rating of a solved conversation, 1 to 5 with
an optional comment, from the chat widget, the one-click links of the solved email or staff
noting it for them.

One answer per conversation, changeable for ``EDIT_WINDOW`` after it was first given. Whom
it is about is fixed then: the agent (the assignee, else the last agent who replied), the
queue, and whether the assistant solved it without any human (no handoff, no agent message).
The email links carry a signed token naming the conversation, valid as long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, DomainError, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    AuthorKind,
    Conversation,
    ConversationStatus,
    Message,
    Owner,
    TimelineEvent,
)
from helpdesk.orm import utcnow
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

EDIT_WINDOW = timedelta(days=7)
LINK_MAX_AGE = EDIT_WINDOW
MAX_COMMENT = 2000
RATINGS = range(1, 6)
RATEABLE = (ConversationStatus.SOLVED, ConversationStatus.CLOSED)
LINK_SALT = "comptoir.csat"  # separates these signatures from the others made with the key
RATING_PATH = "/rate/"  # + token: the public rating page (helpdesk.web.csat_views)


class RatingLocked(Conflict):
    """The rating was given longer ago than it may be changed."""

    code = "rating_locked"


class LinkExpired(DomainError):
    code = "link_expired"
    status = 410


def rate(uow: UnitOfWork, actor: Actor, conversation_id: int, *, rating: object,
         comment: str = "") -> Conversation:
    """Record the rating of a solved (or closed) conversation, or change it within
    ``EDIT_WINDOW`` of the first answer; the same answer again changes nothing."""
    rating, comment = checked_rating(rating), checked_comment(comment)
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    if conversation.csat_given_at is None:
        _first_rating(uow, actor, conversation, rating, comment)
    elif (rating, comment) != (conversation.csat_rating, conversation.csat_comment):
        _changed_rating(uow, actor, conversation, rating, comment)
    uow.commit()
    return conversation


def checked_rating(rating: object) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise ValidationFailed("rating must be a whole number from 1 to 5", field="rating")
    return rating


def checked_comment(comment: str) -> str:
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"a comment has at most {MAX_COMMENT} characters",
                               field="comment")
    return comment


def editable_until(conversation: Conversation) -> datetime | None:
    """Until when its rating may be changed (None: not rated yet)."""
    given = conversation.csat_given_at
    return given + EDIT_WINDOW if given is not None else None


def may_rate(conversation: Conversation, now: datetime) -> bool:
    """Whether the customer may rate it now, or change the rating they gave."""
    until = editable_until(conversation)
    return now <= until if until is not None else conversation.status in RATEABLE


def _first_rating(uow: UnitOfWork, actor: Actor, conversation: Conversation, rating: int,
                  comment: str) -> None:
    if conversation.status not in RATEABLE:
        raise Conflict(f"conversation {conversation.id} is {conversation.status.value}: "
                       "it can be rated once solved", field="conversation_id")
    _attribute(uow.session, conversation)
    conversation.csat_given_at = utcnow()
    conversation.csat_rating, conversation.csat_comment = rating, comment
    uow.record(events.CsatGiven(
        actor=actor, **conversation.event_fields(), rating=rating, comment=comment,
        agent_id=conversation.csat_agent_id, queue_id=conversation.csat_queue_id,
        by_assistant=conversation.csat_by_assistant))


def _changed_rating(uow: UnitOfWork, actor: Actor, conversation: Conversation, rating: int,
                    comment: str) -> None:
    if not may_rate(conversation, utcnow()):
        given = f"{conversation.csat_given_at:%Y-%m-%d %H:%M} UTC"
        raise RatingLocked(f"a rating can be changed for {EDIT_WINDOW.days} days; this one "
                           f"was given on {given}", field="rating")
    previous = (conversation.csat_rating or 0, conversation.csat_comment)
    conversation.csat_rating, conversation.csat_comment = rating, comment
    uow.record(events.CsatChanged(
        actor=actor, **conversation.event_fields(), rating=rating, comment=comment,
        previous_rating=previous[0], previous_comment=previous[1]))


def _attribute(session: Session, conversation: Conversation) -> None:
    """Fix whom the rating is about, once, when it is first given."""
    conversation.csat_agent_id = conversation.assignee_id or _last_replying_agent(
        session, conversation.id)
    conversation.csat_queue_id = conversation.queue_id
    conversation.csat_by_assistant = _assistant_alone(session, conversation)


def _last_replying_agent(session: Session, conversation_id: int) -> int | None:
    return session.scalar(
        select(Message.author_id).where(Message.conversation_id == conversation_id,
                                        Message.author_kind == AuthorKind.AGENT,
                                        Message.internal.is_(False))
        .order_by(Message.seq.desc()).limit(1))


def _assistant_alone(session: Session, conversation: Conversation) -> bool:
    """The assistant has it and always had: never handed over (any change of owner is a
    handoff or comes after one), and no agent wrote in it, not even a note."""
    if conversation.owner != Owner.BOT:
        return False
    agent_message = select(Message.id).where(Message.conversation_id == conversation.id,
                                             Message.author_kind == AuthorKind.AGENT)
    owner_change = select(TimelineEvent.id).where(
        TimelineEvent.conversation_id == conversation.id,
        TimelineEvent.type == events.OwnerChanged.timeline_type)
    return (session.scalar(agent_message.limit(1)) is None
            and session.scalar(owner_change.limit(1)) is None)


# --- the email's one-click links --------------------------------------------------------------


def link_token(secret_key: str, conversation_id: int) -> str:
    """The signed token of a conversation's rating links (valid ``LINK_MAX_AGE``)."""
    return _serializer(secret_key).dumps(conversation_id)


def rating_links(base_url: str, secret_key: str, conversation_id: int) -> list[tuple[int, str]]:
    """One link per rating, each opening the rating page with that rating chosen."""
    page = base_url.rstrip("/") + RATING_PATH + link_token(secret_key, conversation_id)
    return [(rating, f"{page}?rating={rating}") for rating in RATINGS]


def conversation_of(session: Session, secret_key: str, token: str) -> Conversation:
    """The conversation a link's token names; an altered one is unknown, an old one expired."""
    try:
        conversation_id = _serializer(secret_key).loads(
            token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise LinkExpired(f"rating links work for {LINK_MAX_AGE.days} days; this one has "
                          "expired", field="token") from None
    except BadSignature:
        raise NotFound("this rating link is not one we sent", field="token") from None
    return get_or_404(session, Conversation, conversation_id, field="token")


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=LINK_SALT)
