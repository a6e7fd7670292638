"""Automation rules: create, change, delete, list, and their recent runs.

A rule is checked whole on every save: its trigger, its delay (time triggers only), its
conditions and actions (helpdesk.automation); an error names the bad part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.automation import actions, conditions, replay
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Queue, Role, Rule, RuleRun, RuleTrigger, User
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.uow import UnitOfWork

RULE_FIELDS = ("name", "description", "trigger", "delay_minutes", "conditions", "actions",
               "active", "position")
MAX_NAME = 100
MAX_DESCRIPTION = 500
MAX_DELAY = 365 * 24 * 60  # minutes: a year
MAX_POSITION = 10_000
RUNS_SHOWN = 50


def create_rule(uow: UnitOfWork, actor: Actor, **fields: Any) -> Rule:
    """Create a rule from its fields (``name``, ``trigger`` and ``actions`` required)."""
    rule = Rule(created_by_id=actor.id if actor.is_staff else None)
    _apply(uow.session, rule, {"description": "", "conditions": {}, "active": True,
                               "position": 0, "delay_minutes": None, **fields})
    uow.session.add(rule)
    uow.session.flush()
    _audit(uow, actor, "automation_rule.created", rule)
    uow.commit()
    return rule


def update_rule(uow: UnitOfWork, actor: Actor, rule_id: int, **fields: Any) -> Rule:
    """Change some fields; the rule is checked whole again."""
    rule = get_or_404(uow.session, Rule, rule_id, lock=True)
    _apply(uow.session, rule, {**current_fields(rule), **fields})
    _audit(uow, actor, "automation_rule.updated", rule)
    uow.commit()
    return rule


def delete_rule(uow: UnitOfWork, actor: Actor, rule_id: int) -> None:
    """Delete the rule and the record of its runs."""
    rule = get_or_404(uow.session, Rule, rule_id, lock=True)
    _audit(uow, actor, "automation_rule.deleted", rule)
    uow.session.delete(rule)
    uow.commit()


def current_fields(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def all_rules(session: Session) -> list[Rule]:
    """Every rule, in the order each trigger's rules run."""
    return list(session.scalars(select(Rule).order_by(Rule.trigger, Rule.position, Rule.id)))


def recent_runs(session: Session, rule_id: int, limit: int = RUNS_SHOWN) -> list[RuleRun]:
    get_or_404(session, Rule, rule_id)
    return list(session.scalars(select(RuleRun).where(RuleRun.rule_id == rule_id)
                                .order_by(RuleRun.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Draft:
    """What decides whether a rule fires (a saved rule's, or one being edited)."""

    trigger: RuleTrigger
    delay_minutes: int | None
    conditions: conditions.Group


def draft_of(session: Session, fields: dict[str, Any]) -> Draft:
    """The trigger, delay and conditions of ``fields``, checked."""
    trigger = checked_enum(RuleTrigger, fields.get("trigger"), "trigger")
    queue_ids = session.scalars(select(Queue.id))
    return Draft(trigger, _delay(trigger, fields.get("delay_minutes")),
                 conditions.parse(fields.get("conditions"), queue_ids))


def dry_run(session: Session, fields: dict[str, Any], now: datetime) -> replay.DryRun:
    """What a rule with these fields (saved or being edited) would have fired on lately."""
    draft = draft_of(session, fields)
    return replay.dry_run(session, draft.trigger, draft.delay_minutes, draft.conditions, now)


def checked(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """A whole rule's fields, checked and normalised (ValidationFailed names the bad part)."""
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise ValidationFailed(f"unknown rule field(s): {', '.join(unknown)}", field=unknown[0])
    draft = draft_of(session, fields)
    return {"name": _name(fields.get("name")), "trigger": draft.trigger,
            "description": _description(fields.get("description", "")),
            "delay_minutes": draft.delay_minutes,
            "conditions": conditions.to_json(draft.conditions),
            "actions": actions.parse(fields.get("actions"), known_rows(session)),
            "active": _active(fields.get("active", True)),
            "position": _position(fields.get("position", 0))}


def known_rows(session: Session) -> actions.Known:
    """The queues and the staff who work conversations, which actions may name."""
    agents = session.scalars(select(User.id).where(User.active,
                                                   User.role != Role.KNOWLEDGE_MANAGER))
    return actions.Known(frozenset(session.scalars(select(Queue.id))), frozenset(agents))


def _apply(session: Session, rule: Rule, fields: dict[str, Any]) -> None:
    values = checked(session, fields)
    clash = session.scalar(select(Rule.id).where(Rule.name == values["name"]))
    if clash is not None and clash != rule.id:
        raise Conflict(f"a rule named {values['name']!r} exists", field="name")
    for name, value in values.items():
        setattr(rule, name, value)


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("name: a rule needs a name", field="name")
    if len(name.strip()) > MAX_NAME:
        raise ValidationFailed(f"name: at most {MAX_NAME} characters", field="name")
    return name.strip()


def _description(description: Any) -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description: a text of at most {MAX_DESCRIPTION} characters",
                               field="description")
    return description.strip()


def _delay(trigger: RuleTrigger, delay: Any) -> int | None:
    if not trigger.timed:
        if delay is not None:
            raise ValidationFailed(f"delay_minutes: {trigger.value} happens at once; only "
                                   "time triggers take a delay", field="delay_minutes")
        return None
    if isinstance(delay, bool) or not isinstance(delay, int) or not 1 <= delay <= MAX_DELAY:
        raise ValidationFailed(f"delay_minutes: {trigger.value} needs a delay of 1 to "
                               f"{MAX_DELAY} minutes", field="delay_minutes")
    return delay


def _active(active: Any) -> bool:
    if not isinstance(active, bool):
        raise ValidationFailed("active: must be true or false", field="active")
    return active


def _position(position: Any) -> int:
    if isinstance(position, bool) or not isinstance(position, int) \
            or not 0 <= position <= MAX_POSITION:
        raise ValidationFailed(f"position: a whole number from 0 to {MAX_POSITION}",
                               field="position")
    return position


def _audit(uow: UnitOfWork, actor: Actor, action: str, rule: Rule) -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type="automation_rule",
                                   target_id=rule.id, details={"name": rule.name}))
