"""Service levels in the agent UI: the SLA page of supervisors and admins (business-hours
calendars with their holidays, SLA policies, which queue follows which) and the clocks shown
on a conversation (``_sla.html``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import BusinessCalendar, Priority, Queue, SlaAction, SlaMetric, SlaPolicy
from helpdesk.orm import utcnow
from helpdesk.services import queues, sla, sla_settings
from helpdesk.services.common import get_or_404
from helpdesk.sla_clock import WEEKDAYS
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text, form_optional_id, run_action
from helpdesk.web.context import when

MANAGE = Permission.SLA_MANAGE
WEEKDAY_NAMES = dict(zip(WEEKDAYS, (_l("Monday"), _l("Tuesday"), _l("Wednesday"),
                                    _l("Thursday"), _l("Friday"), _l("Saturday"),
                                    _l("Sunday")), strict=True))
SLA_LABELS = {
    "metric": {"first_response": _l("First response"), "next_response": _l("Next response"),
               "resolution": _l("Resolution")},
    "state": {"running": _l("Running"), "at_risk": _l("At risk"), "paused": _l("Paused"),
              "met": _l("Met"), "breached": _l("Breached")},
    "action": {"notify": _l("Notify the assignee and the supervisors"),
               "raise_priority": _l("Raise the priority"),
               "move_queue": _l("Move to the escalation queue")},
    "pause": {"pending": _l("Pending"), "on_hold": _l("On hold")},
}


# --- what every page can show ----------------------------------------------------------------

@bp.app_template_global()
def sla_clock(conversation_id: int) -> sla.SlaClock | None:
    """The conversation's SLA clocks now (None: no policy applies)."""
    return sla.clock(db.session, conversation_id, utcnow())


@bp.app_template_global()
def sla_label(kind: str, value: object) -> str:
    key = str(getattr(value, "value", value))
    return str(SLA_LABELS[kind].get(key, key))


@bp.app_template_filter("sla_due")
def sla_due(iso: str) -> Markup:
    """A due time kept in the history (ISO 8601) as the pages show times."""
    return when(datetime.fromisoformat(iso))


@bp.app_template_filter("business_time")
def business_time(seconds: int | None) -> str:
    """``2 h 05`` or ``40 min``: SLA time is counted to the minute."""
    hours, minutes = divmod(abs(seconds or 0) // 60, 60)
    if hours:
        return _("%(hours)d h %(minutes)02d", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


# --- the SLA page ---------------------------------------------------------------------------

@bp.get("/sla")
@requires(MANAGE)
def sla_page() -> ResponseReturnValue:
    return render_template(
        "web/sla.html",
        calendars=db.session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.name)),
        policies=list(db.session.scalars(select(SlaPolicy).order_by(SlaPolicy.name))),
        queues=list(db.session.scalars(select(Queue).order_by(Queue.name))),
        calendar_names=_calendar_names())


@bp.post("/sla/queues/<int:queue_id>")
@requires(MANAGE)
def save_queue_sla(queue_id: int) -> ResponseReturnValue:
    """Which policy a queue follows, and its own business hours (else the policy's)."""
    return run_action(lambda uow: queues.update_queue(
        uow, current_actor(), queue_id, sla_policy_id=form_optional_id("sla_policy_id"),
        business_hours_id=form_optional_id("business_hours_id")),
        _("Queue saved."), url_for("web.sla_page"))


# --- calendars ------------------------------------------------------------------------------

@bp.get("/sla/calendars/new")
@requires(MANAGE)
def new_calendar() -> ResponseReturnValue:
    office = "09:00-12:30, 13:30-18:00"
    return _calendar_form(None, {"timezone": "Europe/Paris"} | {
        f"hours_{day}": office for day in WEEKDAYS[:5]})


@bp.post("/sla/calendars/new")
@requires(MANAGE)
def create_calendar() -> ResponseReturnValue:
    return _save_calendar(None, lambda uow: sla_settings.create_calendar(
        uow, current_actor(), **_calendar_fields()), _("Calendar created."))


@bp.get("/sla/calendars/<int:calendar_id>")
@requires(MANAGE)
def edit_calendar(calendar_id: int) -> ResponseReturnValue:
    calendar = get_or_404(db.session, BusinessCalendar, calendar_id)
    return _calendar_form(calendar, {"name": calendar.name, "timezone": calendar.timezone} | {
        f"hours_{day}": ", ".join(calendar.hours.get(day, [])) for day in WEEKDAYS})


@bp.post("/sla/calendars/<int:calendar_id>")
@requires(MANAGE)
def save_calendar(calendar_id: int) -> ResponseReturnValue:
    return _save_calendar(calendar_id, lambda uow: sla_settings.update_calendar(
        uow, current_actor(), calendar_id, **_calendar_fields()), _("Calendar saved."))


@bp.post("/sla/calendars/<int:calendar_id>/delete")
@requires(MANAGE)
def delete_calendar(calendar_id: int) -> ResponseReturnValue:
    return _delete(lambda uow: sla_settings.delete_calendar(uow, current_actor(), calendar_id),
                   _("Calendar deleted."), url_for("web.edit_calendar", calendar_id=calendar_id))


@bp.post("/sla/calendars/<int:calendar_id>/holidays")
@requires(MANAGE)
def add_holiday(calendar_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: sla_settings.add_holiday(
        uow, current_actor(), calendar_id, day=_form_date("day"),
        name=request.form.get("name", "")),
        _("Holiday added."), url_for("web.edit_calendar", calendar_id=calendar_id))


@bp.post("/sla/calendars/<int:calendar_id>/holidays/<int:holiday_id>/delete")
@requires(MANAGE)
def remove_holiday(calendar_id: int, holiday_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: sla_settings.remove_holiday(
        uow, current_actor(), calendar_id, holiday_id),
        _("Holiday removed."), url_for("web.edit_calendar", calendar_id=calendar_id))


@bp.post("/sla/calendars/<int:calendar_id>/holidays/seed")
@requires(MANAGE)
def seed_holidays(calendar_id: int) -> ResponseReturnValue:
    back = url_for("web.edit_calendar", calendar_id=calendar_id)
    try:
        with unit_of_work() as uow:
            added = sla_settings.seed_holidays(
                uow, current_actor(), calendar_id, country=request.form.get("country", ""),
                year=_form_int("year") or 0,
                subdivision=request.form.get("subdivision", "").strip() or None)
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("%(num)d public holidays added.", num=added), "success")
    return redirect(back)


def _calendar_fields() -> dict[str, Any]:
    form = request.form
    return {"name": form.get("name", ""), "timezone": form.get("timezone", "").strip(),
            "hours": {day: [form.get(f"hours_{day}", "")] for day in WEEKDAYS}}


def _calendar_form(calendar: BusinessCalendar | None, values: dict[str, Any]) -> str:
    return render_template("web/sla_calendar.html", calendar=calendar, values=values,
                           weekdays=WEEKDAY_NAMES, this_year=utcnow().year)


def _save_calendar(calendar_id: int | None, write: Callable[[UnitOfWork], object],
                   done: str) -> ResponseReturnValue:
    def form_again() -> str:
        calendar = get_or_404(db.session, BusinessCalendar, calendar_id) if calendar_id else None
        return _calendar_form(calendar, request.form.to_dict())
    return _save(write, done, form_again)


# --- policies -------------------------------------------------------------------------------

@bp.get("/sla/policies/new")
@requires(MANAGE)
def new_policy() -> ResponseReturnValue:
    return _policy_form(None, {"pause_statuses": list(sla_settings.PAUSABLE),
                               "warning_minutes": 0, "warning_actions": [],
                               "breach_actions": [], "targets": {}})


@bp.post("/sla/policies/new")
@requires(MANAGE)
def create_policy() -> ResponseReturnValue:
    return _save_policy(None, lambda uow: sla_settings.create_policy(
        uow, current_actor(), **_policy_fields()), _("Policy created."))


@bp.get("/sla/policies/<int:policy_id>")
@requires(MANAGE)
def edit_policy(policy_id: int) -> ResponseReturnValue:
    policy = get_or_404(db.session, SlaPolicy, policy_id)
    return _policy_form(policy, _values_of(policy))


@bp.post("/sla/policies/<int:policy_id>")
@requires(MANAGE)
def save_policy(policy_id: int) -> ResponseReturnValue:
    return _save_policy(policy_id, lambda uow: sla_settings.update_policy(
        uow, current_actor(), policy_id, **_policy_fields()), _("Policy saved."))


@bp.post("/sla/policies/<int:policy_id>/delete")
@requires(MANAGE)
def delete_policy(policy_id: int) -> ResponseReturnValue:
    return _delete(lambda uow: sla_settings.delete_policy(uow, current_actor(), policy_id),
                   _("Policy deleted."), url_for("web.edit_policy", policy_id=policy_id))


def _policy_fields() -> dict[str, Any]:
    form = request.form
    return {"name": form.get("name", ""), "calendar_id": form_optional_id("calendar_id"),
            "pause_statuses": form.getlist("pause_statuses"),
            "warning_minutes": _form_int("warning_minutes") or 0,
            "warning_actions": form.getlist("warning_actions"),
            "breach_actions": form.getlist("breach_actions"),
            "escalation_queue_id": form_optional_id("escalation_queue_id"),
            "targets": {p.value: {m.value: _form_int(f"target-{p.value}-{m.value}")
                                  for m in SlaMetric} for p in Priority}}


def _values_of(policy: SlaPolicy) -> dict[str, Any]:
    return {"name": policy.name, "calendar_id": policy.calendar_id,
            "pause_statuses": policy.pause_statuses, "warning_minutes": policy.warning_minutes,
            "warning_actions": policy.warning_actions, "breach_actions": policy.breach_actions,
            "escalation_queue_id": policy.escalation_queue_id,
            "targets": {t.priority.value: {m.value: t.minutes(m) for m in SlaMetric}
                        for t in policy.targets}}


def _typed_policy() -> dict[str, Any]:
    """The policy form as typed, to show it again after an error."""
    form = request.form
    return {"name": form.get("name", ""), "calendar_id": form.get("calendar_id", ""),
            "pause_statuses": form.getlist("pause_statuses"),
            "warning_minutes": form.get("warning_minutes", ""),
            "warning_actions": form.getlist("warning_actions"),
            "breach_actions": form.getlist("breach_actions"),
            "escalation_queue_id": form.get("escalation_queue_id", ""),
            "targets": {p.value: {m.value: form.get(f"target-{p.value}-{m.value}", "")
                                  for m in SlaMetric} for p in Priority}}


def _policy_form(policy: SlaPolicy | None, values: dict[str, Any]) -> str:
    return render_template(
        "web/sla_policy.html", policy=policy, values=values, priorities=list(Priority),
        metrics=list(SlaMetric), actions=[a.value for a in SlaAction],
        pausable=sla_settings.PAUSABLE, calendar_names=_calendar_names(),
        queues=list(db.session.scalars(select(Queue).order_by(Queue.name))))


def _save_policy(policy_id: int | None, write: Callable[[UnitOfWork], object],
                 done: str) -> ResponseReturnValue:
    def form_again() -> str:
        policy = get_or_404(db.session, SlaPolicy, policy_id) if policy_id else None
        return _policy_form(policy, _typed_policy())
    return _save(write, done, form_again)


# --- shared ---------------------------------------------------------------------------------

def _save(write: Callable[[UnitOfWork], object], done: str,
          form_again: Callable[[], str]) -> ResponseReturnValue:
    """Save and go back to the SLA page; a refused form comes back as typed, with the error."""
    try:
        with unit_of_work() as uow:
            write(uow)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return form_again(), exc.status
    flash(done, "success")
    return redirect(url_for("web.sla_page"))


def _delete(action: Callable[[UnitOfWork], None], done: str,
            back_on_error: str) -> ResponseReturnValue:
    try:
        with unit_of_work() as uow:
            action(uow)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(back_on_error)
    flash(done, "success")
    return redirect(url_for("web.sla_page"))


def _calendar_names() -> dict[int, str]:
    return dict(db.session.execute(
        select(BusinessCalendar.id, BusinessCalendar.name).order_by(BusinessCalendar.name)).all())


def _form_int(name: str) -> int | None:
    """A whole number typed in a form; blank: none."""
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(_("%(field)s must be a whole number.", field=name), field=name)
    return int(value)


def _form_date(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise ValidationFailed(_("Choose a valid date for %(field)s.", field=name),
                               field=name) from None

