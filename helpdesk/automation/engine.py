"""Running rules: a rule fires at most once per (conversation, trigger occurrence), after the
commit that caused it, in its own transaction.

A run is one transaction: its ``RuleRun`` row (unique per rule, conversation and
occurrence: a second worker or a retry fails on it and changes nothing), the actions that
succeeded, and the ``automation.applied`` history event. Each action runs in a savepoint:
one that fails is rolled back, logged and recorded on the run; the others still apply.

Chains: the events a rule's actions cause may trigger other rules, run in the same call
stack. A rule never fires again within its own chain, a chain stops at ``MAX_CHAIN`` rules
and the rules tried under one outermost rule at ``MAX_RUNS``, so two rules undoing each
other cannot loop, nor many rules multiply.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.automation import actions, conditions
from helpdesk.automation.conditions import Facts
from helpdesk.errors import DomainError
from helpdesk.events import Actor
from helpdesk.models import (
    AuthorKind,
    Conversation,
    IdentityKind,
    Message,
    Rule,
    RuleRun,
    RuleTrigger,
    RunOutcome,
)
from helpdesk.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_CHAIN = 5  # rules in one chain of rules triggering rules
MAX_RUNS = 50  # rules tried in all the chains that one rule's run starts


@dataclass(frozen=True)
class _Chain:
    rules: tuple[int, ...]  # the rules running, outermost first
    tried: list[int]  # one counter, shared by every chain from the same outermost rule


_chain: ContextVar[_Chain | None] = ContextVar("automation_chain", default=None)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a trigger on a conversation; ``key`` tells it from the others."""

    trigger: RuleTrigger
    conversation_id: int
    key: str
    message_id: int | None = None  # the message whose body the conditions see


def fire(uow_factory: Callable[[], UnitOfWork],
         occurrences: list[Occurrence]) -> list[RuleRun]:
    """Run the active rules of each occurrence's trigger, in order, the rules looked up once
    for them all; the runs that applied."""
    with uow_factory() as uow:
        rule_ids = active_rule_ids(uow.session, {o.trigger for o in occurrences})
    runs = (run_rule(uow_factory, rule_id, occurrence) for occurrence in occurrences
            if _chain_has_room(occurrence) for rule_id in rule_ids.get(occurrence.trigger, ()))
    return [run for run in runs if run is not None]


def _chain_has_room(occurrence: Occurrence) -> bool:
    chain = _chain.get()
    if chain is not None and (len(chain.rules) >= MAX_CHAIN or chain.tried[0] >= MAX_RUNS):
        log.warning("automation chain %s stopped (%d rules tried): %s not run", chain.rules,
                    chain.tried[0], occurrence)
        return False
    return True


def active_rule_ids(session: Session, triggers: set[RuleTrigger]) -> dict[RuleTrigger,
                                                                           list[int]]:
    """The active rules of each trigger, in the order they run."""
    rule_ids: dict[RuleTrigger, list[int]] = defaultdict(list)
    for trigger, rule_id in session.execute(
            select(Rule.trigger, Rule.id).where(Rule.trigger.in_(triggers), Rule.active)
            .order_by(Rule.position, Rule.id)):
        rule_ids[trigger].append(rule_id)
    return rule_ids


def run_rule(uow_factory: Callable[[], UnitOfWork], rule_id: int,
             occurrence: Occurrence) -> RuleRun | None:
    """Apply the rule when its conditions hold now and it has not run for this occurrence
    (nor is running higher up the chain); its run, else None (a failure is logged)."""
    chain = _chain.get()
    if chain is not None and rule_id in chain.rules:
        return None
    with _in_chain(rule_id):
        try:
            with uow_factory() as uow:
                return _run(uow, rule_id, occurrence)
        except IntegrityError:
            return None  # another worker ran it for this occurrence first
        except Exception:  # the other rules and occurrences must still run
            log.exception("rule %s failed on %s: nothing of it was applied", rule_id,
                          occurrence)
            return None


@contextmanager
def _in_chain(rule_id: int) -> Iterator[None]:
    outer = _chain.get()
    chain = _Chain((*outer.rules, rule_id), outer.tried) if outer else _Chain((rule_id,), [0])
    chain.tried[0] += 1
    token = _chain.set(chain)
    try:
        yield
    finally:
        _chain.reset(token)


def _run(uow: UnitOfWork, rule_id: int, occurrence: Occurrence) -> RuleRun | None:
    rule = uow.session.get(Rule, rule_id)
    conversation = uow.session.get(Conversation, occurrence.conversation_id)
    if rule is None or not rule.active or conversation is None:
        return None
    if _ran(uow.session, rule.id, occurrence) or not matches(uow.session, rule, conversation,
                                                             occurrence.message_id):
        return None
    with uow.one_transaction():
        run = RuleRun(rule_id=rule.id, conversation_id=conversation.id,
                      occurrence=occurrence.key, outcome=RunOutcome.APPLIED)
        uow.session.add(run)
        uow.session.flush()  # a concurrent run of the same occurrence fails here
        applied, failed = _apply_all(uow, rule, conversation)
        run.outcome = _outcome(applied, failed)
        run.errors = failed
        uow.record(events.RuleApplied(
            actor=Actor("automation", rule.id), customer_id=conversation.customer_id,
            conversation_id=conversation.id, channel=conversation.channel.value,
            rule_id=rule.id, rule_name=rule.name, trigger=occurrence.trigger.value,
            applied=applied, failed=failed))
    return run


def _ran(session: Session, rule_id: int, occurrence: Occurrence) -> bool:
    return session.scalar(select(RuleRun.id).where(
        RuleRun.rule_id == rule_id, RuleRun.conversation_id == occurrence.conversation_id,
        RuleRun.occurrence == occurrence.key)) is not None


def matches(session: Session, rule: Rule, conversation: Conversation,
            message_id: int | None = None) -> bool:
    """Whether the rule's conditions hold for the conversation as it is now."""
    return conditions.parse(rule.conditions).holds(facts_of(session, conversation, message_id))


def facts_of(session: Session, conversation: Conversation,
             message_id: int | None = None) -> Facts:
    """The conversation as conditions see it; ``body``: that message's, else the customer's
    latest public one."""
    customer = conversation.customer
    return Facts(channel=conversation.channel.value, subject=conversation.subject,
                 body=message_body(session, conversation.id, message_id),
                 status=conversation.status.value, priority=conversation.priority.value,
                 queue_id=conversation.queue_id, tags=frozenset(conversation.tags),
                 customer_emails=tuple(customer.identity_values(IdentityKind.EMAIL)),
                 language=customer.language)


def message_body(session: Session, conversation_id: int, message_id: int | None) -> str:
    """The message's body, else the latest public customer message's ("" when none)."""
    query = select(Message.body).where(Message.conversation_id == conversation_id)
    if message_id is not None:
        query = query.where(Message.id == message_id)
    else:
        query = query.where(Message.author_kind == AuthorKind.CUSTOMER,
                            Message.internal.is_(False)).order_by(Message.seq.desc())
    return session.scalar(query.limit(1)) or ""


def _apply_all(uow: UnitOfWork, rule: Rule, conversation: Conversation,
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply each action in a savepoint; the applied ones, and the failures with why."""
    applied, failed = [], []
    for index, action in enumerate(rule.actions):
        recorded = len(uow.events)
        try:
            with uow.session.begin_nested():
                actions.apply(uow, rule, conversation, action)
        except Exception as exc:  # one broken action must not stop the others
            del uow.events[recorded:]  # the rolled-back change's events go with it
            _log_failure(rule, conversation, action, exc)
            failed.append({"action": index, "type": action["type"], "error": _why(exc)})
        else:
            applied.append(action)
    return applied, failed


def _outcome(applied: list[dict[str, Any]], failed: list[dict[str, Any]]) -> RunOutcome:
    if not failed:
        return RunOutcome.APPLIED
    return RunOutcome.PARTIAL if applied else RunOutcome.FAILED


def _log_failure(rule: Rule, conversation: Conversation, action: dict[str, Any],
                 exc: Exception) -> None:
    if isinstance(exc, DomainError):
        log.warning("rule %s (%s) on conversation %s: %s failed: %s", rule.id, rule.name,
                    conversation.id, action["type"], exc.message)
    else:
        log.exception("rule %s (%s) on conversation %s: %s failed", rule.id, rule.name,
                      conversation.id, action["type"])


def _why(exc: Exception) -> str:
    return exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
