"""Each conversation's SLA clocks: first response, next response and resolution.

A conversation in a queue with a policy that has targets for its priority gets clocks. They
are recomputed from its history (``refresh``) after every change that matters, and kept in
``conversation_slas``/``sla_deadlines`` so the worker finds what is due with one query:

- first response and resolution count from the opening; next response from the customer's
  first message after an agent's public reply, until the next one;
- the clocks stand still while the status is one the policy pauses on (pending, on hold),
  while the conversation is solved or closed, and while the assistant owns it;
- the time counted is business time in the calendar (the queue's business hours, else the
  policy's), else wall-clock time.

The worker fires each warning and breach once per cycle (``fire_alerts``) and runs the
policy's actions; a target met late between two of its rounds is recorded as breached
without actions (there is nothing left to hurry). Breaches go to ``sla_breaches`` for
reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.events import SYSTEM
from helpdesk.models import (
    AuthorKind,
    BusinessCalendar,
    Conversation,
    ConversationSla,
    ConversationStatus,
    Message,
    Owner,
    Priority,
    Queue,
    QueueMembership,
    Role,
    SlaAction,
    SlaBreach,
    SlaDeadline,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    TimelineEvent,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.services import conversations, notifications
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import Page, paginate
from helpdesk.sla_clock import WALL_CLOCK, ZERO, Clock, Pause, deadline, pauses_of, response_cycle
from helpdesk.uow import UnitOfWork

BATCH = 200  # conversations a worker round handles at most, per kind of work
STOPPED = (ConversationStatus.SOLVED, ConversationStatus.CLOSED)
STATUS_EVENT = events.StatusChanged.timeline_type
OWNER_EVENT = events.OwnerChanged.timeline_type
METRIC_NAMES = {SlaMetric.FIRST_RESPONSE: "first response",
                SlaMetric.NEXT_RESPONSE: "next response", SlaMetric.RESOLUTION: "resolution"}


@dataclass(frozen=True)
class MetricClock:
    """One target as it stands: ``state`` is running, at_risk (past the warning), paused,
    met or breached; ``remaining_seconds`` is business (or wall-clock) time left, negative
    once overdue, frozen while paused, None once met."""

    metric: SlaMetric
    target_minutes: int
    state: str
    due_at: datetime | None
    remaining_seconds: int | None
    met_at: datetime | None

    @property
    def breached(self) -> bool:
        return self.state == "breached"


@dataclass(frozen=True)
class SlaClock:
    """A conversation's clocks, for its page and the API."""

    policy: str
    calendar: str | None  # None: wall-clock time
    time_zone: str
    first_response: MetricClock | None
    next_response: MetricClock | None
    resolution: MetricClock | None

    @property
    def metrics(self) -> list[MetricClock]:
        return [m for m in (self.first_response, self.next_response, self.resolution) if m]

    @property
    def paused(self) -> bool:
        return any(m.state == "paused" for m in self.metrics)

    @property
    def breached(self) -> bool:
        return any(m.breached for m in self.metrics)


# --- reading ----------------------------------------------------------------------------------

def clock(session: Session, conversation_id: int, now: datetime) -> SlaClock | None:
    """The conversation's clocks at ``now``; None when no policy applies to it."""
    state = session.get(ConversationSla, conversation_id)
    if state is None:
        return None
    calendar = _calendar(session, state.calendar_id)
    counting = calendar.business_hours() if calendar else WALL_CLOCK
    metrics = {row.metric: _metric_clock(row, counting, now) for row in state.deadlines}
    return SlaClock(policy=state.policy.name, calendar=calendar.name if calendar else None,
                    time_zone=calendar.timezone if calendar else "UTC",
                    first_response=metrics.get(SlaMetric.FIRST_RESPONSE),
                    next_response=metrics.get(SlaMetric.NEXT_RESPONSE),
                    resolution=metrics.get(SlaMetric.RESOLUTION))


def _metric_clock(row: SlaDeadline, counting: Clock, now: datetime) -> MetricClock:
    remaining = None
    if row.met_at is not None:
        state = "breached" if row.breached_at else "met"
    elif row.due_at is None:
        state, remaining = "paused", row.remaining_seconds
    else:
        remaining = int(counting.between(now, row.due_at).total_seconds())
        state = ("breached" if row.breached_at or now >= row.due_at
                 else "at_risk" if row.warn_at and now >= row.warn_at else "running")
    return MetricClock(metric=row.metric, target_minutes=row.target_minutes, state=state,
                       due_at=row.due_at, remaining_seconds=remaining, met_at=row.met_at)


def within_sla_today(session: Session, queue_id: int, now: datetime) -> tuple[int, int]:
    """(first responses given within target, first responses given) today in the queue's
    time zone, for the conversations of the queue that have a first-response target."""
    since = _midnight(now, queue_zone(session, queue_id))
    counted = select(func.count(), func.count(SlaDeadline.id).filter(
        SlaDeadline.breached_at.is_(None))).join(
        Conversation, Conversation.id == SlaDeadline.conversation_id).where(
        Conversation.queue_id == queue_id, SlaDeadline.metric == SlaMetric.FIRST_RESPONSE,
        SlaDeadline.met_at >= since, SlaDeadline.met_at <= now)
    total, met = session.execute(counted).one()
    return met, total


def _midnight(now: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone).astimezone(UTC)


def queue_zone(session: Session, queue_id: int) -> ZoneInfo:
    """The time zone of the queue's business hours, else of its policy's calendar, else the
    app's default."""
    queue = session.get(Queue, queue_id)
    policy = session.get(SlaPolicy, queue.sla_policy_id) if queue and queue.sla_policy_id else None
    calendar = _calendar(session, (queue.business_hours_id if queue else None)
                         or (policy.calendar_id if policy else None))
    if calendar is not None:
        return ZoneInfo(calendar.timezone)
    default = current_app.config["COMPTOIR"].default_timezone if has_app_context() else "UTC"
    return ZoneInfo(default)


def breaches(session: Session, *, queue_id: int | None = None, since: datetime | None = None,
             until: datetime | None = None, page: int = 1, per_page: int = 25) -> Page[SlaBreach]:
    """Recorded breaches, newest first, optionally of one queue and in ``[since, until)``."""
    query = select(SlaBreach).order_by(SlaBreach.breached_at.desc(), SlaBreach.id.desc())
    if queue_id is not None:
        query = query.where(SlaBreach.queue_id == queue_id)
    if since is not None:
        query = query.where(SlaBreach.breached_at >= since)
    if until is not None:
        query = query.where(SlaBreach.breached_at < until)
    return paginate(session, query, page, per_page)


# --- recomputing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Setup:
    """What a conversation's clocks follow: the policy, its targets for the priority, the
    calendar."""

    policy: SlaPolicy
    target: SlaTarget
    calendar: BusinessCalendar | None
    counting: Clock


def refresh(uow: UnitOfWork, conversation_id: int, now: datetime) -> None:
    """Recompute the conversation's clocks from its history; a target met late is recorded
    as breached. Clocks go when no policy applies any more."""
    if not may_have_clocks(uow.session, [conversation_id]):
        return
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    setup = _setup(uow.session, conversation)
    state = uow.session.get(ConversationSla, conversation_id)
    if setup is None:
        if state is not None:
            uow.session.delete(state)
    else:
        if state is None:
            state = ConversationSla(conversation_id=conversation_id)
            uow.session.add(state)
        _recompute(uow, conversation, setup, state, now)
    uow.commit()


def may_have_clocks(session: Session, conversation_ids: list[int]) -> list[int]:
    """A cheap look before locking: those of the conversations whose queue has a policy, or
    that have clocks to remove, in the order given."""
    found = set(session.scalars(
        select(Conversation.id).outerjoin(Queue, Queue.id == Conversation.queue_id)
        .outerjoin(ConversationSla, ConversationSla.conversation_id == Conversation.id)
        .where(Conversation.id.in_(conversation_ids),
               or_(Queue.sla_policy_id.is_not(None),
                   ConversationSla.conversation_id.is_not(None)))))
    return [i for i in conversation_ids if i in found]


def _setup(session: Session, conversation: Conversation) -> _Setup | None:
    queue = conversation.queue
    policy = session.get(SlaPolicy, queue.sla_policy_id) if queue and queue.sla_policy_id else None
    target = policy.target_for(conversation.priority) if policy else None
    if policy is None or target is None:
        return None
    calendar = _calendar(session, queue.business_hours_id or policy.calendar_id)
    return _Setup(policy, target, calendar,
                  calendar.business_hours() if calendar else WALL_CLOCK)


def _calendar(session: Session, calendar_id: int | None) -> BusinessCalendar | None:
    return session.get(BusinessCalendar, calendar_id) if calendar_id else None


def _recompute(uow: UnitOfWork, conversation: Conversation, setup: _Setup,
               state: ConversationSla, now: datetime) -> None:
    state.policy_id, state.priority = setup.policy.id, conversation.priority
    state.calendar_id = setup.calendar.id if setup.calendar else None
    state.computed_at = utcnow()  # the real time: compared with the settings' updated_at
    pauses = _pauses(uow.session, conversation, setup.policy.pause_statuses)
    spans = _spans(uow.session, conversation)
    for metric in SlaMetric:
        minutes, span = setup.target.minutes(metric), spans.get(metric)
        row = _row_for(state, metric, wanted=minutes is not None and span is not None)
        if row is not None:
            _update(uow, conversation, setup, row, _Span(*span, minutes), pauses, now)


def _row_for(state: ConversationSla, metric: SlaMetric, *, wanted: bool) -> SlaDeadline | None:
    """The metric's clock: added when wanted, removed when not."""
    row = state.deadline(metric)
    if not wanted:
        if row is not None:
            state.deadlines.remove(row)
        return None
    if row is None:
        row = SlaDeadline(metric=metric)
        state.deadlines.append(row)
    return row


@dataclass(frozen=True)
class _Span:
    start: datetime
    met_at: datetime | None
    minutes: int


def _update(uow: UnitOfWork, conversation: Conversation, setup: _Setup, row: SlaDeadline,
            span: _Span, pauses: list[Pause], now: datetime) -> None:
    """Set one clock; a new cycle (next response) clears the alerts of the last one."""
    if row.started_at != span.start:
        row.warned_at = row.breached_at = None
    row.started_at, row.target_minutes, row.met_at = span.start, span.minutes, span.met_at
    target, warning = timedelta(minutes=span.minutes), timedelta(
        minutes=setup.policy.warning_minutes)
    at, counting = span.met_at or now, setup.counting
    standing = deadline(counting, span.start, target, pauses, at)
    row.due_at = standing.due_at
    row.remaining_seconds = None if standing.due_at else int(
        standing.remaining.total_seconds())
    row.warn_at = (deadline(counting, span.start, target - warning, pauses, at).due_at
                   if ZERO < warning < target else None)
    if span.met_at and row.due_at and row.due_at < span.met_at and row.breached_at is None:
        _record_breach(uow, conversation, row, span.met_at, [])


def _pauses(session: Session, conversation: Conversation,
            pause_statuses: list[str]) -> list[Pause]:
    """When the clocks stood still, from the status and owner changes in the history."""
    changes = session.execute(
        select(TimelineEvent.occurred_at, TimelineEvent.type, TimelineEvent.payload)
        .where(TimelineEvent.conversation_id == conversation.id,
               TimelineEvent.type.in_((STATUS_EVENT, OWNER_EVENT)))
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)).all()
    status = next((p["from"] for _, kind, p in changes if kind == STATUS_EVENT),
                  conversation.status.value)
    owner = next((p["from"] for _, kind, p in changes if kind == OWNER_EVENT),
                 conversation.owner.value)
    pausing = {*pause_statuses, *STOPPED}
    states = [(conversation.created_at, status in pausing or owner == Owner.BOT)]
    for at, kind, payload in changes:
        if kind == STATUS_EVENT:
            status = payload["to"]
        else:
            owner = payload["to"]
        states.append((at, status in pausing or owner == Owner.BOT))
    return pauses_of(states)


def _spans(session: Session, conversation: Conversation
           ) -> dict[SlaMetric, tuple[datetime, datetime | None]]:
    """Each metric's (start, met at); no next response before its first cycle."""
    resolved = (conversation.solved_at or conversation.closed_at
                if conversation.status in STOPPED else None)
    spans = {SlaMetric.FIRST_RESPONSE: (conversation.created_at, conversation.first_response_at),
             SlaMetric.RESOLUTION: (conversation.created_at, resolved)}
    thread = session.execute(
        select(Message.created_at, Message.author_kind == AuthorKind.AGENT)
        .where(Message.conversation_id == conversation.id, Message.internal.is_(False),
               Message.author_kind.in_((AuthorKind.CUSTOMER, AuthorKind.AGENT)))
        .order_by(Message.created_at, Message.seq)).all()
    cycle = response_cycle((at, bool(from_agent)) for at, from_agent in thread)
    if cycle is not None:
        spans[SlaMetric.NEXT_RESPONSE] = cycle
    return spans


# --- the worker: settings changed, alerts due ---------------------------------------------------

def stale_conversations(session: Session, limit: int = BATCH) -> list[int]:
    """Open conversations whose clocks do not follow the current settings: a queue or policy
    changed, a calendar or policy saved since, clocks missing or no longer due."""
    return sorted(set(_to_compute(session, limit)) | set(_to_drop(session, limit)))[:limit]


def _to_compute(session: Session, limit: int) -> list[int]:
    calendar_id = func.coalesce(Queue.business_hours_id, SlaPolicy.calendar_id)
    state = ConversationSla
    return list(session.scalars(
        select(Conversation.id)
        .join(Queue, Queue.id == Conversation.queue_id)
        .join(SlaPolicy, SlaPolicy.id == Queue.sla_policy_id)
        .join(SlaTarget, and_(SlaTarget.policy_id == SlaPolicy.id,
                              SlaTarget.priority == Conversation.priority))
        .outerjoin(BusinessCalendar, BusinessCalendar.id == calendar_id)
        .outerjoin(state, state.conversation_id == Conversation.id)
        .where(Conversation.status.not_in(STOPPED),
               or_(state.conversation_id.is_(None), state.policy_id != SlaPolicy.id,
                   state.priority != Conversation.priority,
                   state.calendar_id.is_distinct_from(calendar_id),
                   state.computed_at < SlaPolicy.updated_at,
                   state.computed_at < BusinessCalendar.updated_at))
        .order_by(Conversation.id).limit(limit)))


def _to_drop(session: Session, limit: int) -> list[int]:
    state = ConversationSla
    return list(session.scalars(
        select(state.conversation_id)
        .join(Conversation, Conversation.id == state.conversation_id)
        .join(SlaPolicy, SlaPolicy.id == state.policy_id)
        .outerjoin(Queue, Queue.id == Conversation.queue_id)
        .where(Conversation.status.not_in(STOPPED),
               or_(Queue.sla_policy_id.is_(None), Queue.sla_policy_id != state.policy_id,
                   state.priority != Conversation.priority,
                   state.computed_at < SlaPolicy.updated_at))
        .order_by(state.conversation_id).limit(limit)))


def alerts_due(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Conversations with a warning or a breach to fire at ``now``."""
    d = SlaDeadline
    due = or_(and_(d.warn_at <= now, d.warned_at.is_(None)),
              and_(d.due_at <= now, d.breached_at.is_(None)))
    return list(session.scalars(select(d.conversation_id).where(d.met_at.is_(None), due)
                                .distinct().order_by(d.conversation_id).limit(limit)))


@dataclass(frozen=True)
class _Alert:
    kind: str  # "warning" or "breach"
    metric: SlaMetric
    due_at: datetime
    actions: list[str]


def fire_alerts(uow: UnitOfWork, conversation_id: int, now: datetime) -> None:
    """Fire the conversation's due warnings and breaches, each once per cycle, and run its
    policy's actions (a breach supersedes the warning not sent yet)."""
    with uow.one_transaction():
        conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
        state = uow.session.get(ConversationSla, conversation_id)
        if state is None:
            return
        alerts = [alert for row in state.deadlines
                  if (alert := _alert(uow, conversation, state.policy, row, now))]
        _run_actions(uow, conversation, state, alerts)


def _alert(uow: UnitOfWork, conversation: Conversation, policy: SlaPolicy, row: SlaDeadline,
           now: datetime) -> _Alert | None:
    if row.met_at is not None:
        return None
    if row.due_at and row.due_at <= now and row.breached_at is None:
        row.warned_at = row.warned_at or now
        if not _record_breach(uow, conversation, row, now, policy.breach_actions):
            return None
        return _Alert("breach", row.metric, row.due_at, policy.breach_actions)
    if row.warn_at and row.warn_at <= now and row.warned_at is None:
        row.warned_at = now
        uow.record(events.SlaWarned(actor=SYSTEM, **conversation.event_fields(),
                                    metric=row.metric.value, due_at=row.due_at,
                                    actions=list(policy.warning_actions)))
        return _Alert("warning", row.metric, row.due_at, policy.warning_actions)
    return None


def _record_breach(uow: UnitOfWork, conversation: Conversation, row: SlaDeadline,
                   at: datetime, actions: list[str]) -> bool:
    """Record the breach; False when it was recorded before (clocks that went with a queue
    without policy and came back)."""
    row.breached_at = at
    if uow.session.scalar(select(SlaBreach.id).where(
            SlaBreach.conversation_id == conversation.id, SlaBreach.metric == row.metric,
            SlaBreach.due_at == row.due_at)) is not None:
        return False
    uow.session.add(SlaBreach(conversation_id=conversation.id, metric=row.metric,
                              due_at=row.due_at, breached_at=at, queue_id=conversation.queue_id,
                              priority=conversation.priority))
    uow.record(events.SlaBreached(actor=SYSTEM, **conversation.event_fields(),
                                  metric=row.metric.value, due_at=row.due_at,
                                  actions=list(actions)))
    return True



def _run_actions(uow: UnitOfWork, conversation: Conversation, state: ConversationSla,
                 alerts: list[_Alert]) -> None:
    calendar = _calendar(uow.session, state.calendar_id)
    zone: tzinfo = ZoneInfo(calendar.timezone) if calendar else UTC
    for alert in alerts:
        if SlaAction.NOTIFY in alert.actions:
            notifications.notify(uow, _to_notify(uow.session, conversation),
                                 kind=f"sla_{alert.kind}", conversation_id=conversation.id,
                                 text=_notice(conversation, alert, zone))
    wanted = {action for alert in alerts for action in alert.actions}
    if SlaAction.RAISE_PRIORITY in wanted and conversation.priority != Priority.URGENT:
        levels = list(Priority)
        conversations.update_conversation(
            uow, SYSTEM, conversation.id,
            priority=levels[levels.index(conversation.priority) + 1])
    escalation = state.policy.escalation_queue_id
    if SlaAction.MOVE_QUEUE in wanted and escalation not in (None, conversation.queue_id):
        conversations.assign(uow, SYSTEM, conversation.id, assignee_id=None,
                             queue_id=escalation)


def _to_notify(session: Session, conversation: Conversation) -> list[int]:
    """The assignee and the queue's supervisors (no supervisor in the queue: all of them)."""
    supervisors = select(User.id).where(User.active, User.role == Role.SUPERVISOR)
    in_queue = list(session.scalars(supervisors.join(
        QueueMembership, QueueMembership.user_id == User.id).where(
        QueueMembership.queue_id == conversation.queue_id)))
    chosen = in_queue or list(session.scalars(supervisors))
    return [*chosen, *([conversation.assignee_id] if conversation.assignee_id else [])]


def _notice(conversation: Conversation, alert: _Alert, zone: tzinfo) -> str:
    due = alert.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    what = "SLA warning" if alert.kind == "warning" else "SLA breached"
    tense = "is due" if alert.kind == "warning" else "was due"
    subject = f": {conversation.subject}" if conversation.subject else ""
    return f"{what}: {METRIC_NAMES[alert.metric]} of #{conversation.id} {tense} {due}{subject}"
