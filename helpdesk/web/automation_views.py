"""Automation pages (admins and supervisors): the rules, their form with its dry run over the
last 7 days, and each rule's latest runs."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.automation.actions import ActionType
from helpdesk.automation.conditions import OPERATORS, Field, Op
from helpdesk.automation.replay import DryRun
from helpdesk.errors import DomainError
from helpdesk.extensions import db
from helpdesk.models import Rule, RuleTrigger
from helpdesk.orm import utcnow
from helpdesk.services import automation
from helpdesk.services.common import get_or_404
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text, run_action, save_form
from helpdesk.web.automation_form import (
    UNITS,
    delay_in_units,
    fields_of,
    typed_values,
    values_of,
)
from helpdesk.web.directory import load_directory

MANAGE = Permission.AUTOMATION_MANAGE
BLANK_CONDITIONS = 3  # empty rows offered under the rule's own
BLANK_ACTIONS = 2
RUNS_SHOWN = 20
LABELS = {
    "trigger": {
        "conversation_opened": _l("A conversation is opened"),
        "customer_message": _l("The customer writes"),
        "email_received": _l("An email is received"),
        "status_changed": _l("The status changes"),
        "priority_changed": _l("The priority changes"),
        "assigned": _l("It is assigned to an agent"),
        "pending_for": _l("Pending for…"),
        "no_agent_reply": _l("No agent reply for…"),
        "unassigned_for": _l("Open and unassigned for…")},
    "field": {
        "channel": _l("Channel"), "subject": _l("Subject"), "body": _l("Message text"),
        "status": _l("Status"), "priority": _l("Priority"), "queue": _l("Queue"),
        "tags": _l("Tags"), "customer_email": _l("Customer email"),
        "customer_domain": _l("Customer email domain"), "language": _l("Customer language")},
    "op": {
        "is": _l("is"), "is_not": _l("is not"), "contains": _l("contains"),
        "not_contains": _l("does not contain"), "starts_with": _l("starts with"),
        "in": _l("is one of (comma-separated)"), "matches": _l("matches the pattern")},
    "action": {
        "set_queue": _l("Move to the queue"), "set_priority": _l("Set the priority"),
        "set_status": _l("Set the status (text: a message to the customer first)"),
        "add_tags": _l("Add tags"), "remove_tags": _l("Remove tags"),
        "assign": _l("Assign to the agent (email)"),
        "add_note": _l("Add an internal note (text)"),
        "notify": _l("Notify staff (emails; text)")},
    "did": {  # in the history: what a rule did
        "set_queue": _l("Queue"), "set_priority": _l("Priority"), "set_status": _l("Status"),
        "add_tags": _l("Tags added"), "remove_tags": _l("Tags removed"),
        "assign": _l("Assigned to"), "add_note": _l("Internal note added"),
        "notify": _l("Notification")},
    "unit": {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")},
    "outcome": {"applied": _l("Applied"), "partial": _l("Partly applied"),
                "failed": _l("Failed")},
}


@bp.app_template_global()
def automation_label(kind: str, value: object) -> Any:
    """The translated name of a trigger, field, operator, action (``action``: in the form,
    ``did``: in the history), unit or run outcome."""
    key = str(getattr(value, "value", value))
    return LABELS[kind].get(key, key)


@bp.app_template_global()
def automation_delay(minutes: int) -> str:
    """A rule's delay in words: "3 days", "4 hours", "90 minutes"."""
    amount, unit = delay_in_units(minutes)
    words = {"days": ngettext("%(num)d day", "%(num)d days", int(amount)),
             "hours": ngettext("%(num)d hour", "%(num)d hours", int(amount)),
             "minutes": ngettext("%(num)d minute", "%(num)d minutes", int(amount))}
    return words[unit]


@bp.get("/automation")
@requires(MANAGE)
def automation_rules_page() -> ResponseReturnValue:
    return render_template("web/automation_rules.html",
                           rules=automation.all_rules(db.session))


@bp.get("/automation/new")
@requires(MANAGE)
def new_rule() -> ResponseReturnValue:
    return _form(None, typed_values({}) | {
        "trigger": RuleTrigger.EMAIL_RECEIVED.value, "active": True, "match": "all",
        "delay_unit": "hours", "position": "0"})


@bp.post("/automation/new")
@requires(MANAGE)
def create_rule() -> ResponseReturnValue:
    return save_form(lambda uow: automation.create_rule(uow, current_actor(), **_typed_fields()),
                     _("Rule created."), url_for("web.automation_rules_page"),
                     lambda: _form(None, typed_values(request.form)))


@bp.get("/automation/<int:rule_id>")
@requires(MANAGE)
def edit_rule(rule_id: int) -> ResponseReturnValue:
    rule = get_or_404(db.session, Rule, rule_id)
    return _form(rule, values_of(rule, load_directory(db.session)))


@bp.post("/automation/<int:rule_id>")
@requires(MANAGE)
def save_rule(rule_id: int) -> ResponseReturnValue:
    return save_form(
        lambda uow: automation.update_rule(uow, current_actor(), rule_id, **_typed_fields()),
        _("Rule saved."), url_for("web.automation_rules_page"),
        lambda: _form(get_or_404(db.session, Rule, rule_id), typed_values(request.form)))


@bp.post("/automation/<int:rule_id>/delete")
@requires(MANAGE)
def delete_rule(rule_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: automation.delete_rule(uow, current_actor(), rule_id),
                      _("Rule deleted."), url_for("web.automation_rules_page"))


@bp.get("/automation/<int:rule_id>/dry-run")
@requires(MANAGE)
def dry_run_rule(rule_id: int) -> ResponseReturnValue:
    """The saved rule's form, with what it would have fired on in the last 7 days."""
    rule = get_or_404(db.session, Rule, rule_id)
    result = automation.dry_run(db.session, automation.current_fields(rule), utcnow())
    return _form(rule, values_of(rule, load_directory(db.session)), result)


@bp.post("/automation/dry-run")
@requires(MANAGE)
def dry_run_form() -> ResponseReturnValue:
    """The form as typed, with what the rule would have fired on (nothing is saved)."""
    rule_id = request.form.get("rule_id", "")
    rule = get_or_404(db.session, Rule, int(rule_id)) if rule_id.isdigit() else None
    values = typed_values(request.form)
    try:
        result = automation.dry_run(db.session, _typed_fields(), utcnow())
    except DomainError as exc:
        return _form(rule, values, error=error_text(exc)), exc.status
    return _form(rule, values, result)


def _typed_fields() -> dict[str, Any]:
    return fields_of(typed_values(request.form), load_directory(db.session))


def _form(rule: Rule | None, values: dict[str, Any], dry_run: DryRun | None = None,
          error: str | None = None) -> str:
    runs = automation.recent_runs(db.session, rule.id, RUNS_SHOWN) if rule else []
    blank_condition = {"field": "", "op": "", "value": ""}
    blank_action = {"type": "", "value": "", "text": "", "assignee": False}
    return render_template(
        "web/automation_rule_form.html", rule=rule, values=values, runs=runs,
        dry_run=dry_run, dry_run_error=error, triggers=list(RuleTrigger), fields=list(Field),
        operators=list(Op), operators_by_field=OPERATORS, action_types=list(ActionType),
        units=list(UNITS), directory=load_directory(db.session),
        condition_rows=[*values["conditions"], *[blank_condition] * BLANK_CONDITIONS],
        action_rows=[*values["actions"], *[blank_action] * BLANK_ACTIONS])
