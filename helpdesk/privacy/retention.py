"""Retention: how many days each kind of data is kept, applied by the worker.

The rules (``RULES``), each off until an admin gives it a number of days:

- ``anonymous_chat``: chats of anonymous visitors (customers known by a visitor id only),
  solved or closed, with nothing new for that long; then the visitors left without any
  conversation, created that long ago;
- ``closed_<channel>``: the channel's conversations solved or closed that long ago;
- ``email_sources``: the raw source of each processed received email, that long after it
  arrived (the messages made from it stay).

A conversation goes with everything that hangs from it (messages, attachments and their
files, calls, history rows, the assistant's records), as in an erasure. Each run that has
a rule on is recorded in the audit log with its counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    AuditLog,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
    InboundEmail,
    InboundState,
    RetentionSetting,
)
from helpdesk.privacy import scope
from helpdesk.uow import UnitOfWork

ANONYMOUS_CHAT = "anonymous_chat"
CLOSED = "closed_"
EMAIL_SOURCES = "email_sources"
RULES = (ANONYMOUS_CHAT, *(f"{CLOSED}{channel.value}" for channel in Channel), EMAIL_SOURCES)
MAX_DAYS = 36500
BATCH = 200
FINISHED = (ConversationStatus.SOLVED, ConversationStatus.CLOSED)
RUN_ACTION = "retention.applied"


def current_settings(session: Session) -> dict[str, int | None]:
    """Days kept per rule; None: for ever."""
    stored = dict(session.execute(select(RetentionSetting.rule, RetentionSetting.days)).all())
    return {rule: stored.get(rule) for rule in RULES}


def save_settings(uow: UnitOfWork, actor: Actor, days: dict[str, int | None]) -> None:
    """Replace the days of the rules named (None turns a rule off)."""
    checked = {rule: _checked_days(rule, value) for rule, value in days.items()}
    for rule, value in checked.items():
        setting = uow.session.get(RetentionSetting, rule) or RetentionSetting(rule=rule)
        setting.days, setting.updated_by_id = value, actor.id
        uow.session.add(setting)
    uow.record(events.StaffChanged(actor=actor, action="retention.updated",
                                   target_type="retention", target_id=None, details=checked))
    uow.commit()


def preview(session: Session, now: datetime) -> dict[str, int]:
    """What applying the rules now would delete: conversations (and anonymous visitors)
    or email sources, per rule that is on."""
    counts = {rule: _count(session, candidates(rule, now - timedelta(days=days)))
              for rule, days in current_settings(session).items() if days}
    if ANONYMOUS_CHAT in counts:
        days = current_settings(session)[ANONYMOUS_CHAT]
        counts["anonymous_visitors"] = _count(session, idle_visitors(now - timedelta(days=days)))
    return counts


def apply(uow_factory: Callable[[], UnitOfWork], now: datetime, attachments: Path) -> None:
    """The worker's job: delete what the rules say is too old, in batches, and record the
    run in the audit log."""
    with uow_factory() as uow:
        rules = {rule: days for rule, days in current_settings(uow.session).items() if days}
    if not rules:
        return
    report = {rule: dict(_apply_rule(uow_factory, rule, now - timedelta(days=days),
                                     attachments)) for rule, days in rules.items()}
    with uow_factory() as uow:  # the system acts: no staff event to audit, so a row by hand
        uow.session.add(AuditLog(action=RUN_ACTION, target_type="retention",
                                 details={"days": rules, "deleted": report}))
        uow.commit()


@dataclass(frozen=True)
class Run:
    at: datetime
    deleted: int  # rows deleted, anonymised or purged, every rule together


def recent_runs(session: Session, limit: int = 10) -> list[Run]:
    """The latest runs, newest first, read from their audit rows."""
    rows = session.execute(select(AuditLog.created_at, AuditLog.details).where(
        AuditLog.action == RUN_ACTION).order_by(AuditLog.id.desc()).limit(limit))
    return [Run(at, sum(n for counts in details.get("deleted", {}).values()
                        for n in counts.values())) for at, details in rows]


def candidates(rule: str, cutoff: datetime) -> Select:
    """The ids the rule deletes (conversations), or purges (email sources), at ``cutoff``."""
    if rule == EMAIL_SOURCES:
        return select(InboundEmail.id).where(InboundEmail.state == InboundState.PROCESSED,
                                             InboundEmail.received_at < cutoff,
                                             func.length(InboundEmail.raw) > 0)
    if rule == ANONYMOUS_CHAT:
        last_activity = func.coalesce(Conversation.last_message_at, Conversation.created_at)
        return select(Conversation.id).where(
            Conversation.channel == Channel.CHAT, Conversation.status.in_(FINISHED),
            last_activity < cutoff, Conversation.customer_id.in_(_anonymous()))
    finished_at = func.coalesce(Conversation.closed_at, Conversation.solved_at)
    return select(Conversation.id).where(
        Conversation.channel == Channel(rule.removeprefix(CLOSED)),
        Conversation.status.in_(FINISHED), finished_at < cutoff)


def idle_visitors(cutoff: datetime) -> Select:
    """Anonymous visitors created before ``cutoff`` with no conversation but those the
    rule deletes (none left, once it ran)."""
    kept = select(Conversation.customer_id).where(
        Conversation.id.not_in(candidates(ANONYMOUS_CHAT, cutoff)))
    return select(Customer.id).where(Customer.id.in_(_anonymous()),
                                     Customer.created_at < cutoff, Customer.id.not_in(kept))


def _anonymous() -> Select:
    """Customers known by a visitor id and nothing else."""
    known = select(Identity.customer_id).where(Identity.kind != IdentityKind.VISITOR)
    return select(Identity.customer_id).where(Identity.kind == IdentityKind.VISITOR,
                                              Identity.customer_id.not_in(known))


def _apply_rule(uow_factory: Callable[[], UnitOfWork], rule: str, cutoff: datetime,
                attachments: Path) -> Counter[str]:
    if rule == EMAIL_SOURCES:
        return _in_batches(uow_factory, candidates(rule, cutoff), _purge_sources, attachments)
    deleted = _in_batches(uow_factory, candidates(rule, cutoff),
                          _deleting(scope.conversations_scope), attachments)
    if rule == ANONYMOUS_CHAT:
        deleted += _in_batches(uow_factory, idle_visitors(cutoff), _deleting(_customers),
                               attachments)
    return deleted


# What a batch does to its ids: the rows changed per table, and the files to remove.
BatchAction = Callable[[Session, list[int]], tuple[dict[str, int], list[str]]]


def _in_batches(uow_factory: Callable[[], UnitOfWork], query: Select, action: BatchAction,
                attachments: Path) -> Counter[str]:
    """Apply ``action`` to each batch of ``query``'s ids in its own transaction (which
    takes them out of the query), then remove its files, until none is left."""
    total: Counter[str] = Counter()
    while True:
        with uow_factory() as uow:
            ids = list(uow.session.scalars(query.limit(BATCH)))
            if not ids:
                return total
            counts, files = action(uow.session, ids)
            uow.commit()
        total.update(counts)
        for path in files:
            (attachments / path).unlink(missing_ok=True)


def _deleting(scope_of: Callable[[list[int]], scope.Where]) -> BatchAction:
    """Delete the scope of the ids, as an erasure does."""
    def action(session: Session, ids: list[int]) -> tuple[dict[str, int], list[str]]:
        where = scope_of(ids)
        files = scope.files(session, where)
        anonymised = scope.anonymise(session, where)
        scope.detach(session, where)
        return {**scope.delete_rows(session, where),
                **{f"{table} (anonymised)": n for table, n in anonymised.items()}}, files
    return action


def _customers(ids: list[int]) -> scope.Where:
    return scope.reach({scope.CUSTOMERS: scope.CUSTOMERS.c.id.in_(ids)})


def _purge_sources(session: Session, ids: list[int]) -> tuple[dict[str, int], list[str]]:
    purged = session.execute(update(InboundEmail).where(InboundEmail.id.in_(ids))
                             .values(raw=b"")).rowcount
    return {"inbound_emails (sources purged)": purged}, []


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _checked_days(rule: str, value: int | None) -> int | None:
    if rule not in RULES:
        raise ValidationFailed(f"unknown retention rule {rule!r}", field=rule)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if value is not None and not (whole and 1 <= value <= MAX_DAYS):
        raise ValidationFailed(f"keep for 1 to {MAX_DAYS} days, or leave empty for ever",
                               field=rule)
    return value
