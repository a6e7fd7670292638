"""Phone calls from a PBX's CTI events.

Each event is stored once per ``(call, key)`` (a retry gets the first answer back), then the
call is derived again from all its events (``helpdesk.telephony``). Every call is a phone
conversation: its own, which the call's course drives (assigned when answered, solved when
over, a callback item in the queue when nobody answered), or one an agent attached it to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import (
    Call,
    CallEvent,
    CallEventKind,
    CallStatus,
    Channel,
    Conversation,
    ConversationStatus,
    IdentityKind,
    Queue,
    User,
)
from helpdesk.models.conversation import ALLOWED_TRANSITIONS
from helpdesk.services import conversations, customers
from helpdesk.services.common import get_or_404, insert_unless_present
from helpdesk.services.timeline import customer_timeline
from helpdesk.telephony import (
    UNANSWERED,
    WAITING,
    CallState,
    derive,
    idempotency_key,
    normalize_number,
)
from helpdesk.uow import UnitOfWork

K = CallEventKind
CALLBACK_TAG = "callback"
CALL_TAGS = frozenset({CALLBACK_TAG, CallStatus.MISSED.value, CallStatus.VOICEMAIL.value})
ANSWERED = frozenset({CallStatus.IN_PROGRESS, CallStatus.COMPLETED})
POPS_UP = frozenset({CallStatus.RINGING, CallStatus.IN_PROGRESS})
MAX_NOTES = 10_000
EXCERPT = 160
SCREEN_POP_EVENTS = 5


@dataclass(frozen=True)
class CallEventIn:
    """One CTI event as the PBX describes it (references not checked yet)."""

    call_id: str
    kind: CallEventKind
    occurred_at: datetime
    caller: str
    called: str = ""
    queue: int | str | None = None  # id or name
    agent: int | str | None = None  # id or email
    recording_url: str = ""
    conversation_id: int | None = None  # an open conversation to attach the call to
    payload: dict[str, Any] = field(default_factory=dict)  # the body as received


@dataclass(frozen=True)
class Ingested:
    result: dict[str, Any]
    duplicate: bool


@dataclass(frozen=True)
class _Refs:
    """An event's numbers and references, checked."""

    caller: str | None  # None: withheld
    called: str
    queue_id: int | None
    agent_id: int | None
    conversation_id: int | None


def ingest(uow: UnitOfWork, event: CallEventIn, *, country_code: str = "") -> Ingested:
    """Store a CTI event once, then derive its call from all the call's events."""
    key = idempotency_key(event.kind, event.occurred_at)
    stored = _stored(uow.session, event.call_id, key)
    if stored is not None:
        return Ingested(stored.result, duplicate=True)
    refs = _checked(uow.session, event, country_code)
    customer_id = _caller_customer(uow, event.call_id, refs.caller)
    with uow.one_transaction():
        call = _locked_call(uow.session, event, refs, customer_id)
        # A copy sent at the same time may have been stored while we waited for the lock.
        stored = _stored(uow.session, event.call_id, key)
        if stored is None:
            return Ingested(_store_and_apply(uow, call, event, refs, key).result, False)
    return Ingested(stored.result, duplicate=True)


def save_notes(uow: UnitOfWork, actor: Actor, call_id: int, notes: str) -> Call:
    """Replace the agent's notes on a call."""
    call = get_or_404(uow.session, Call, call_id, lock=True)
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise ValidationFailed(f"notes are over {MAX_NOTES} characters", field="notes")
    if notes != call.notes:
        call.notes = notes
        uow.record(events.CallNotesSaved(
            actor=actor, customer_id=call.customer_id, conversation_id=call.conversation_id,
            channel=Channel.PHONE.value, call_id=call.id, excerpt=notes[:EXCERPT]))
    uow.commit()
    return call


# --- reading ------------------------------------------------------------------------------


def conversation_calls(session: Session, conversation_id: int) -> list[Call]:
    """The calls attached to a conversation, latest first."""
    return list(session.scalars(select(Call).where(Call.conversation_id == conversation_id)
                                .order_by(Call.started_at.desc(), Call.id.desc())))


def waiting(session: Session, queue_id: int) -> int:
    """Calls waiting in the queue now: queued, or ringing an agent who has not answered."""
    return session.scalar(select(func.count()).where(
        Call.queue_id == queue_id, Call.status.in_(WAITING))) or 0


def abandoned_today(session: Session, queue_id: int, now: datetime,
                    zone: tzinfo = UTC) -> int:
    """Calls of the queue whose caller hung up before anyone answered, since midnight in
    ``zone``."""
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return session.scalar(select(func.count()).where(
        Call.queue_id == queue_id, Call.status == CallStatus.MISSED,
        Call.ended_at >= midnight, Call.ended_at <= now)) or 0


def screen_pop(session: Session, call_id: int) -> dict[str, Any]:
    """What an agent's console shows when the call rings: the call, the caller's profile
    and their latest history."""
    call = get_or_404(session, Call, call_id)
    customer, queue = call.customer, call.queue
    history = customer_timeline(session, customer.id, limit=SCREEN_POP_EVENTS).events
    return {
        "call": {"id": call.id, "call_id": call.external_id, "caller": call.caller,
                 "called": call.called, "status": call.status.value,
                 "started_at": call.started_at.isoformat(),
                 "queue": {"id": queue.id, "name": queue.name} if queue else None,
                 "conversation_id": call.conversation_id},
        "customer": {"id": customer.id, "name": customer.name,
                     "display_name": customer.display_name, "language": customer.language,
                     "timezone": customer.timezone, "attributes": customer.attributes,
                     "identities": [{"kind": i.kind.value, "value": i.value}
                                    for i in customer.identities]},
        "timeline": [{"type": e.type, "channel": e.channel, "conversation_id": e.conversation_id,
                      "occurred_at": e.occurred_at.isoformat(), "payload": e.payload}
                     for e in history],
    }


# --- checking an event --------------------------------------------------------------------


def _stored(session: Session, external_id: str, key: str) -> CallEvent | None:
    return session.scalar(select(CallEvent).join(Call).where(
        Call.external_id == external_id, CallEvent.key == key))


def _checked(session: Session, event: CallEventIn, country_code: str) -> _Refs:
    refs = _Refs(caller=_caller(event.caller, country_code),
                 called=_number(event.called, country_code, "called") or "",
                 queue_id=_queue_id(session, event.queue),
                 agent_id=_agent_id(session, event.agent),
                 conversation_id=_open_conversation_id(session, event.conversation_id))
    if event.kind == K.ANSWERED and refs.agent_id is None:
        raise ValidationFailed("an answered call needs the agent who answered", field="agent")
    if event.kind == K.TRANSFERRED and refs.agent_id is None and refs.queue_id is None:
        raise ValidationFailed("a transfer needs the agent or the queue it went to",
                               field="agent")
    return refs


def _caller(raw: str, country_code: str) -> str | None:
    number = _number(raw, country_code, "caller")
    if number is None:
        return None
    try:  # the identity's own rule: the number must be able to name a customer
        return customers.normalize_identity(IdentityKind.PHONE, number)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="caller") from None


def _number(raw: str, country_code: str, name: str) -> str | None:
    if not raw:
        return None
    try:
        return normalize_number(raw, country_code)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=name) from None


def _queue_id(session: Session, ref: int | str | None) -> int | None:
    if ref is None:
        return None
    column = Queue.id if isinstance(ref, int) else Queue.name
    found = session.scalar(select(Queue.id).where(column == ref))
    if found is None:
        raise ValidationFailed(f"queue {ref!r} does not exist", field="queue")
    return found


def _agent_id(session: Session, ref: int | str | None) -> int | None:
    if ref is None:
        return None
    condition = User.id == ref if isinstance(ref, int) else User.email == ref.strip().lower()
    user = session.scalar(select(User).where(condition))
    if user is None:
        raise ValidationFailed(f"no staff account is {ref!r}", field="agent")
    if not user.active:
        raise ValidationFailed(f"staff account {ref!r} is deactivated", field="agent")
    return user.id


def _open_conversation_id(session: Session, conversation_id: int | None) -> int | None:
    if conversation_id is None:
        return None
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ValidationFailed(f"conversation {conversation_id} does not exist",
                               field="conversation_id")
    if conversation.is_closed:
        raise ValidationFailed(f"conversation {conversation_id} is closed: attach the call "
                               "to an open one", field="conversation_id")
    return conversation_id


def _caller_customer(uow: UnitOfWork, external_id: str, caller: str | None) -> int:
    """The call's customer: found by the caller's number, created when unknown (a withheld
    number is a new, nameless customer). Its own transaction, before the call's."""
    known = uow.session.scalar(select(Call.customer_id).where(Call.external_id == external_id))
    if known is not None:
        return known
    if caller is None:
        return customers.create_customer(uow, SYSTEM).id
    return customers.identify(uow, SYSTEM, IdentityKind.PHONE, caller).id


def _locked_call(session: Session, event: CallEventIn, refs: _Refs, customer_id: int) -> Call:
    """The call's row, created by its first event, locked until commit: one call's events
    are applied one at a time."""
    session.execute(insert_unless_present(session, Call, "external_id").values(
        external_id=event.call_id, customer_id=customer_id, status=CallStatus.QUEUED,
        started_at=event.occurred_at, caller=refs.caller or "", called=refs.called))
    return session.scalars(select(Call).where(Call.external_id == event.call_id)
                           .with_for_update()
                           .execution_options(populate_existing=True)).one()


# --- applying an event --------------------------------------------------------------------


def _store_and_apply(uow: UnitOfWork, call: Call, event: CallEventIn, refs: _Refs,
                     key: str) -> CallEvent:
    row = CallEvent(call=call, kind=event.kind, key=key, occurred_at=event.occurred_at,
                    queue_id=refs.queue_id, agent_id=refs.agent_id,
                    recording_url=event.recording_url, payload=event.payload)
    uow.session.add(row)
    uow.session.flush()
    _apply(uow, call, row, refs)
    row.result = _result(call, row)
    return row


def _apply(uow: UnitOfWork, call: Call, row: CallEvent, refs: _Refs) -> None:
    """Derive the call from all its events; move its conversation along; record it."""
    first = len(call.events) == 1
    before = (None, None) if first else (call.status, call.agent_id)
    state = derive(call.events)
    _place_in_conversation(uow, call, refs.conversation_id)
    _copy_state(call, state, refs)
    if call.owns_conversation:
        _drive_conversation(uow, call, before, state)
    _record(uow, call, row)


def _place_in_conversation(uow: UnitOfWork, call: Call, attach_to: int | None) -> None:
    """Attach the call where the event says; else open its own phone conversation."""
    if attach_to is not None and attach_to != call.conversation_id:
        previous, owned = call.conversation_id, call.owns_conversation
        call.conversation_id, call.owns_conversation = attach_to, False
        if previous is not None and owned:  # the call's own has no purpose left
            _move_on(uow, previous, ConversationStatus.CLOSED)
    elif call.conversation_id is None:
        call.conversation_id = conversations.open_conversation(
            uow, SYSTEM, customer_id=call.customer_id, channel=Channel.PHONE,
            subject=call.caller).id
        call.owns_conversation = True


def _copy_state(call: Call, state: CallState, refs: _Refs) -> None:
    call.status, call.started_at = state.status, state.started_at
    call.answered_at, call.ended_at = state.answered_at, state.ended_at
    call.wait_seconds, call.talk_seconds = state.wait_seconds, state.talk_seconds
    call.agent_id, call.queue_id = state.agent_id, state.queue_id
    call.recording_url = state.recording_url
    call.called = call.called or refs.called


def _drive_conversation(uow: UnitOfWork, call: Call,
                        before: tuple[CallStatus | None, int | None], state: CallState) -> None:
    """Move the call's own conversation along when the call's status or agent changed
    (never otherwise: an agent may have moved it on since)."""
    status, agent_id = before
    conversation_id = call.conversation_id
    if state.status in ANSWERED and state.agent_id and (
            status not in ANSWERED or state.agent_id != agent_id):
        _answered_by(uow, conversation_id, state)
    if state.status in UNANSWERED and status not in UNANSWERED:
        _call_back(uow, conversation_id, state)
    elif status in UNANSWERED and state.status not in UNANSWERED:
        _retag(uow, conversation_id, [])  # answered after all: the events came out of order
    if state.status == CallStatus.COMPLETED and status != CallStatus.COMPLETED:
        _move_on(uow, conversation_id, ConversationStatus.SOLVED)


def _answered_by(uow: UnitOfWork, conversation_id: int, state: CallState) -> None:
    conversation = conversations.assign(uow, SYSTEM, conversation_id,
                                        assignee_id=state.agent_id, queue_id=state.queue_id)
    # Answering the phone is the first response.
    conversation.first_response_at = conversation.first_response_at or state.answered_at


def _call_back(uow: UnitOfWork, conversation_id: int, state: CallState) -> None:
    """Nobody answered: the conversation waits in the queue as a callback item, which
    routing hands to an agent."""
    if state.queue_id is not None:
        conversations.assign(uow, SYSTEM, conversation_id, assignee_id=None,
                             queue_id=state.queue_id)
    _retag(uow, conversation_id, [CALLBACK_TAG, state.status.value])


def _retag(uow: UnitOfWork, conversation_id: int, call_tags: list[str]) -> None:
    conversation = uow.session.get(Conversation, conversation_id)
    kept = [t for t in conversation.tags if t not in CALL_TAGS]
    conversations.set_tags(uow, SYSTEM, conversation_id, kept + call_tags)


def _move_on(uow: UnitOfWork, conversation_id: int, status: ConversationStatus) -> None:
    """Solve or close the conversation, unless it is already there or beyond."""
    conversation = uow.session.get(Conversation, conversation_id)
    if status in ALLOWED_TRANSITIONS[conversation.status]:
        conversations.change_status(uow, SYSTEM, conversation_id, status)


def _record(uow: UnitOfWork, call: Call, row: CallEvent) -> None:
    about = {"actor": SYSTEM, "customer_id": call.customer_id,
             "conversation_id": call.conversation_id, "channel": Channel.PHONE.value}
    uow.record(events.CallEventReceived(
        **about, occurred_at=row.occurred_at, call_id=call.id, event=row.kind.value,
        number=call.caller, agent_id=row.agent_id, queue_id=row.queue_id,
        recording_url=row.recording_url, status=call.status.value))
    rings = row.kind in (K.RINGING, K.TRANSFERRED) and row.agent_id is not None
    if rings and row.agent_id == call.agent_id and call.status in POPS_UP:
        uow.record(events.CallRinging(**about, call_id=call.id, user_id=row.agent_id))


def _result(call: Call, row: CallEvent) -> dict[str, Any]:
    """The answer to the event (and to each retry of it)."""
    return {"id": row.id, "call_id": call.external_id, "event": row.kind.value,
            "status": call.status.value, "conversation_id": call.conversation_id,
            "customer_id": call.customer_id, "queue_id": call.queue_id,
            "agent_id": call.agent_id, "wait_seconds": call.wait_seconds,
            "talk_seconds": call.talk_seconds,
            "callback": call.owns_conversation and call.status in UNANSWERED}
