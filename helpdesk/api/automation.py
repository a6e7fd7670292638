"""Automation rules: manage them, see their runs, and dry-run one over the last 7 days."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import OneOf, Range
from sqlalchemy import select

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import PageArgs, PageMeta, PatchSchema, StrictSchema, flag, text
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.automation import replay
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Rule, RuleTrigger, RunOutcome
from helpdesk.orm import utcnow
from helpdesk.services import automation
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import paginate

blp = ApiBlueprint("api_automation", __name__,
                   description="Automation rules: trigger + conditions → actions")
RULE = f"/automation/rules/<{ID}:rule_id>"
MANAGE = Permission.AUTOMATION_MANAGE
NAME_TAKEN = "Another rule has this name"
TRIGGERS = [t.value for t in RuleTrigger]
CONDITIONS_DOC = ('{"all"|"any": [{"field", "op", "value"} or a nested group]}; fields: '
                  "channel, subject, body, status, priority, queue (id), tags, customer_email, "
                  "customer_domain, language; ops: is, is_not, contains, not_contains, "
                  "starts_with, in, matches (a regular expression); see docs/automation.md")
ACTIONS_DOC = ('[{"type": ..., <parameters>}]: set_queue (queue_id), set_priority (priority), '
               "set_status (status, message), add_tags / remove_tags (tags), assign (agent_id), "
               "add_note (body), notify (text, user_ids, assignee)")


class RuleFields(StrictSchema):
    name = text(automation.MAX_NAME, min_length=1)
    description = text(automation.MAX_DESCRIPTION)
    trigger = fields.String(validate=OneOf(TRIGGERS))
    delay_minutes = fields.Integer(strict=True, allow_none=True, validate=Range(min=1),
                                   metadata={"description": "Time triggers only: how long "
                                             "the state must last"})
    conditions = fields.Dict(metadata={"description": CONDITIONS_DOC})
    actions = fields.List(fields.Dict(), metadata={"description": ACTIONS_DOC})
    active = flag()
    position = fields.Integer(strict=True, validate=Range(0, automation.MAX_POSITION),
                              metadata={"description": "A trigger's rules run by position"})


class RuleIn(RuleFields):
    name = text(automation.MAX_NAME, min_length=1, required=True)
    trigger = fields.String(required=True, validate=OneOf(TRIGGERS))
    actions = fields.List(fields.Dict(), required=True, metadata={"description": ACTIONS_DOC})


class RulePatch(RuleFields, PatchSchema):
    pass


class RuleOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    trigger = fields.String()
    delay_minutes = fields.Integer(allow_none=True)
    conditions = fields.Dict()
    actions = fields.List(fields.Dict())
    active = fields.Boolean()
    position = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RulePage(Schema):
    items = fields.List(fields.Nested(RuleOut))
    meta = fields.Nested(PageMeta)


class RunOut(Schema):
    id = fields.Integer()
    conversation_id = fields.Integer()
    occurrence = fields.String(metadata={"description": "Which occurrence of the trigger"})
    outcome = fields.String(metadata={"enum": [o.value for o in RunOutcome]})
    errors = fields.List(fields.Dict(), metadata={
        "description": "The actions that failed: action (index), type, error"})
    created_at = fields.DateTime()


class RunList(Schema):
    items = fields.List(fields.Nested(RunOut))


class DryRunIn(StrictSchema):
    trigger = fields.String(required=True, validate=OneOf(TRIGGERS))
    delay_minutes = fields.Integer(strict=True, allow_none=True, validate=Range(min=1))
    conditions = fields.Dict(metadata={"description": CONDITIONS_DOC})


class MatchOut(Schema):
    conversation_id = fields.Integer()
    subject = fields.String()
    at = fields.DateTime(metadata={"description": "When the rule would have fired"})
    occurrence = fields.String()


class DryRunOut(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    matches = fields.List(fields.Nested(MatchOut), metadata={
        "description": f"The latest first, at most {replay.MAX_SHOWN}"})
    total = fields.Integer(metadata={"description": "Matches found, listed or not"})
    scanned = fields.Integer(metadata={"description": "Conversations replayed"})
    truncated = fields.Boolean(metadata={
        "description": f"More than {replay.MAX_CONVERSATIONS} conversations had history: "
                       "the most recently active were replayed"})


@blp.route("/automation/rules", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, RulePage)
@requires(MANAGE)
def list_rules(args: dict[str, Any]) -> dict[str, Any]:
    """List the rules, each trigger's in the order they run."""
    query = select(Rule).order_by(Rule.trigger, Rule.position, Rule.id)
    return page_body(paginate(db.session, query, args["page"],
                              capped_size(args.get("per_page"))))


@blp.route("/automation/rules", methods=["POST"])
@blp.arguments(RuleIn)
@blp.response(201, RuleOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(MANAGE)
def create_rule(data: dict[str, Any]) -> Rule:
    """Create a rule; a bad condition or action is refused (422) naming its path."""
    with unit_of_work() as uow:
        created = automation.create_rule(uow, staff_actor(), **data)
    return reload(Rule, created.id)


@blp.route(RULE, methods=["GET"])
@blp.response(200, RuleOut)
@requires(MANAGE)
def get_rule(rule_id: int) -> Rule:
    """One rule."""
    return get_or_404(db.session, Rule, rule_id)


@blp.route(RULE, methods=["PATCH"])
@blp.arguments(RulePatch)
@blp.response(200, RuleOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(MANAGE)
def update_rule(data: dict[str, Any], rule_id: int) -> Rule:
    """Change a rule; ``conditions`` and ``actions`` replace the old ones."""
    with unit_of_work() as uow:
        automation.update_rule(uow, staff_actor(), rule_id, **data)
    return reload(Rule, rule_id)


@blp.route(RULE, methods=["DELETE"])
@blp.response(204)
@requires(MANAGE)
def delete_rule(rule_id: int) -> None:
    """Delete a rule and the record of its runs (what it did stays in the history)."""
    with unit_of_work() as uow:
        automation.delete_rule(uow, staff_actor(), rule_id)


@blp.route(f"{RULE}/runs", methods=["GET"])
@blp.response(200, RunList)
@requires(MANAGE)
def list_runs(rule_id: int) -> dict[str, Any]:
    """The rule's latest runs, newest first."""
    return {"items": automation.recent_runs(db.session, rule_id)}


@blp.route(f"{RULE}/dry-run", methods=["GET"])
@blp.response(200, DryRunOut)
@requires(MANAGE)
def dry_run_rule(rule_id: int) -> replay.DryRun:
    """What the saved rule would have fired on in the last 7 days (nothing is changed)."""
    rule = get_or_404(db.session, Rule, rule_id)
    return automation.dry_run(db.session, automation.current_fields(rule), utcnow())


@blp.route("/automation/dry-run", methods=["POST"])
@blp.arguments(DryRunIn)
@blp.response(200, DryRunOut)
@requires(MANAGE)
def dry_run_draft(data: dict[str, Any]) -> replay.DryRun:
    """What a rule being written would have fired on in the last 7 days."""
    return automation.dry_run(db.session, data, utcnow())
