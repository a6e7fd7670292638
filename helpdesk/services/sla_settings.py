"""SLA settings: business-hours calendars with their holidays, and SLA policies.

Saving a calendar or a policy stamps its ``updated_at``: the worker then recomputes the clocks
of the open conversations that use it (``sla.stale_conversations``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

import holidays as holiday_data
from sqlalchemy import or_, select

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    BusinessCalendar,
    ConversationStatus,
    Holiday,
    Priority,
    Queue,
    SlaAction,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
)
from helpdesk.orm import Base, utcnow
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.sla_clock import WEEKDAYS, format_periods, parse_periods
from helpdesk.uow import UnitOfWork

CALENDAR_FIELDS = ("name", "timezone", "hours", "holidays")
POLICY_FIELDS = ("name", "calendar_id", "pause_statuses", "warning_minutes", "warning_actions",
                 "breach_actions", "escalation_queue_id", "targets")
PAUSABLE = (ConversationStatus.PENDING.value, ConversationStatus.ON_HOLD.value)
MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_WARNING_MINUTES = 7 * 24 * 60
MAX_HOLIDAY_NAME = 200
SEED_YEARS = range(1950, 2101)

HolidayIn = tuple[date, str]  # the day, its name


# --- calendars --------------------------------------------------------------------------------

def create_calendar(uow: UnitOfWork, actor: Actor, *, name: str, timezone: str,
                    hours: dict[str, list[str]], holidays: Iterable[HolidayIn] = ()
                    ) -> BusinessCalendar:
    """Create a calendar: its opening periods per weekday (``{"mon": ["09:00-12:30",
    "13:30-18:00"], ...}``, missing days closed), IANA time zone and holidays."""
    calendar = BusinessCalendar(name="", timezone="UTC", hours={})
    _apply_calendar(uow, calendar, {"name": name, "timezone": timezone, "hours": hours,
                                    "holidays": holidays})
    uow.session.add(calendar)
    uow.session.flush()
    _audit(uow, actor, "sla_calendar.created", calendar, {"name": calendar.name})
    uow.commit()
    return calendar


def update_calendar(uow: UnitOfWork, actor: Actor, calendar_id: int,
                    **fields: Any) -> BusinessCalendar:
    """Change a calendar; ``hours`` and ``holidays`` replace the old ones."""
    calendar = get_or_404(uow.session, BusinessCalendar, calendar_id, field="calendar_id")
    _apply_calendar(uow, calendar, fields)
    _audit(uow, actor, "sla_calendar.updated", calendar, {"fields": sorted(fields)})
    uow.commit()
    return calendar


def delete_calendar(uow: UnitOfWork, actor: Actor, calendar_id: int) -> None:
    """Delete a calendar no policy and no queue uses."""
    calendar = get_or_404(uow.session, BusinessCalendar, calendar_id, field="calendar_id")
    users = _names(uow, SlaPolicy, SlaPolicy.calendar_id == calendar.id) + _names(
        uow, Queue, Queue.business_hours_id == calendar.id)
    if users:
        raise Conflict(f"calendar {calendar.name!r} is used by {', '.join(users)}")
    _audit(uow, actor, "sla_calendar.deleted", calendar, {"name": calendar.name})
    uow.session.delete(calendar)
    uow.commit()


def add_holiday(uow: UnitOfWork, actor: Actor, calendar_id: int, *, day: date,
                name: str = "") -> Holiday:
    """Close the calendar on ``day``."""
    calendar = get_or_404(uow.session, BusinessCalendar, calendar_id, field="calendar_id")
    if any(h.day == day for h in calendar.holidays):
        raise Conflict(f"{day.isoformat()} is already a holiday of {calendar.name!r}",
                       field="day")
    holiday = Holiday(day=day, name=_holiday_name(name))
    calendar.holidays.append(holiday)
    _touch(calendar)
    _audit(uow, actor, "sla_calendar.updated", calendar, {"holiday_added": day.isoformat()})
    uow.commit()
    return holiday


def remove_holiday(uow: UnitOfWork, actor: Actor, calendar_id: int, holiday_id: int) -> None:
    calendar = get_or_404(uow.session, BusinessCalendar, calendar_id, field="calendar_id")
    holiday = next((h for h in calendar.holidays if h.id == holiday_id), None)
    if holiday is None:
        raise NotFound(f"calendar {calendar.id} has no holiday {holiday_id}", field="holiday_id")
    calendar.holidays.remove(holiday)
    _touch(calendar)
    _audit(uow, actor, "sla_calendar.updated", calendar,
           {"holiday_removed": holiday.day.isoformat()})
    uow.commit()


def seed_holidays(uow: UnitOfWork, actor: Actor, calendar_id: int, *, country: str, year: int,
                  subdivision: str | None = None) -> int:
    """Add a country's public holidays of ``year`` (the ``holidays`` package: ``FR``,
    ``DE`` with subdivision ``BY``, ...); days already there are kept. How many were added."""
    calendar = get_or_404(uow.session, BusinessCalendar, calendar_id, field="calendar_id")
    known = {h.day for h in calendar.holidays}
    added = [Holiday(day=day, name=_holiday_name(name))
             for day, name in sorted(_national_holidays(country, year, subdivision).items())
             if day not in known]
    calendar.holidays.extend(added)
    _touch(calendar)
    _audit(uow, actor, "sla_calendar.updated", calendar,
           {"holidays_seeded": f"{country} {year}", "added": len(added)})
    uow.commit()
    return len(added)


def _national_holidays(country: str, year: int, subdivision: str | None) -> dict[date, str]:
    if year not in SEED_YEARS:
        raise ValidationFailed(f"year {year} is not between {SEED_YEARS.start} and "
                               f"{SEED_YEARS.stop - 1}", field="year")
    code = country.strip().upper()
    if code not in _countries():
        raise ValidationFailed(f"{country!r} is not a country code the holidays package knows "
                               "(ISO 3166, such as FR)", field="country")
    try:
        found = holiday_data.country_holidays(code, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        raise ValidationFailed(f"{subdivision!r} is not a subdivision of {code}",
                               field="subdivision") from None
    return dict(found.items())


@cache
def _countries() -> frozenset[str]:
    return frozenset(holiday_data.list_supported_countries())


def _apply_calendar(uow: UnitOfWork, calendar: BusinessCalendar, fields: dict[str, Any]) -> None:
    _check_known(fields, CALENDAR_FIELDS, "calendar")
    if "name" in fields:
        calendar.name = _unique_name(uow, BusinessCalendar, calendar, fields["name"])
    if "timezone" in fields:
        calendar.timezone = checked_timezone(fields["timezone"])
    if "hours" in fields:
        calendar.hours = checked_hours(fields["hours"])
    if "holidays" in fields:
        calendar.holidays = _checked_holidays(fields["holidays"])
    if set(fields) - {"name"}:
        _touch(calendar)


def checked_timezone(name: str) -> str:
    """An IANA time zone name, such as Europe/Paris."""
    if name not in _timezones():
        raise ValidationFailed(f"{name!r} is not an IANA time zone such as Europe/Paris",
                               field="timezone")
    return name


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def checked_hours(hours: dict[str, list[str]]) -> dict[str, list[str]]:
    """Opening periods per weekday, normalised (sorted, ``HH:MM-HH:MM``, every day present)."""
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise ValidationFailed(f"unknown weekday {unknown[0]!r}; one of {', '.join(WEEKDAYS)}",
                               field="hours")
    checked = {day: _day_periods(day, hours.get(day, [])) for day in WEEKDAYS}
    if not any(checked.values()):
        raise ValidationFailed("the calendar must be open at some time in the week",
                               field="hours")
    return checked


def _day_periods(day: str, periods: list[str]) -> list[str]:
    try:
        parsed = parse_periods(", ".join(periods))
    except ValueError as exc:
        raise ValidationFailed(f"hours of {day}: {exc}", field="hours") from None
    return [format_periods([period]) for period in parsed]


def _checked_holidays(days: Iterable[HolidayIn]) -> list[Holiday]:
    rows = [Holiday(day=day, name=_holiday_name(name)) for day, name in days]
    seen: set[date] = set()
    for row in rows:
        if row.day in seen:
            raise ValidationFailed(f"{row.day.isoformat()} is listed twice", field="holidays")
        seen.add(row.day)
    return rows


def _holiday_name(name: str) -> str:
    if len(name.strip()) > MAX_HOLIDAY_NAME:
        raise ValidationFailed(f"a holiday's name is at most {MAX_HOLIDAY_NAME} characters",
                               field="name")
    return name.strip()


# --- policies ---------------------------------------------------------------------------------

def create_policy(uow: UnitOfWork, actor: Actor, *, name: str, **fields: Any) -> SlaPolicy:
    """Create a policy. ``targets``: minutes per priority and metric, e.g.
    ``{"urgent": {"first_response": 30, "resolution": 240}}`` (a metric left out: no target).
    """
    policy = SlaPolicy(name="", pause_statuses=list(PAUSABLE), warning_actions=[],
                       breach_actions=[])
    _apply_policy(uow, policy, {"name": name, **fields})
    uow.session.add(policy)
    uow.session.flush()
    _audit(uow, actor, "sla_policy.created", policy, {"name": policy.name})
    uow.commit()
    return policy


def update_policy(uow: UnitOfWork, actor: Actor, policy_id: int, **fields: Any) -> SlaPolicy:
    """Change a policy; ``targets`` and the lists replace the old ones."""
    policy = get_or_404(uow.session, SlaPolicy, policy_id, field="policy_id")
    _apply_policy(uow, policy, fields)
    _audit(uow, actor, "sla_policy.updated", policy, {"fields": sorted(fields)})
    uow.commit()
    return policy


def delete_policy(uow: UnitOfWork, actor: Actor, policy_id: int) -> None:
    """Delete a policy no queue uses (the clocks it set go; its breaches stay)."""
    policy = get_or_404(uow.session, SlaPolicy, policy_id, field="policy_id")
    users = _names(uow, Queue, Queue.sla_policy_id == policy.id)
    if users:
        raise Conflict(f"policy {policy.name!r} is used by {', '.join(users)}")
    _audit(uow, actor, "sla_policy.deleted", policy, {"name": policy.name})
    uow.session.delete(policy)
    uow.commit()


def _apply_policy(uow: UnitOfWork, policy: SlaPolicy, fields: dict[str, Any]) -> None:
    _check_known(fields, POLICY_FIELDS, "policy")
    if "name" in fields:
        policy.name = _unique_name(uow, SlaPolicy, policy, fields["name"])
    for key, model in (("calendar_id", BusinessCalendar), ("escalation_queue_id", Queue)):
        if key in fields:
            setattr(policy, key, _optional_id(uow, model, fields[key], key))
    if "pause_statuses" in fields:
        policy.pause_statuses = _subset(fields["pause_statuses"], PAUSABLE, "pause_statuses")
    if "warning_minutes" in fields:
        policy.warning_minutes = _minutes(fields["warning_minutes"], "warning_minutes",
                                          low=0, high=MAX_WARNING_MINUTES)
    actions = [a.value for a in SlaAction]
    for key in ("warning_actions", "breach_actions"):
        if key in fields:
            setattr(policy, key, _subset(fields[key], actions, key))
    if "targets" in fields:
        policy.targets = _checked_targets(fields["targets"])
    _check_escalation(policy)
    if set(fields) - {"name"}:
        policy.updated_at = utcnow()


def _check_escalation(policy: SlaPolicy) -> None:
    moving = SlaAction.MOVE_QUEUE in (*policy.warning_actions, *policy.breach_actions)
    if moving and policy.escalation_queue_id is None:
        raise ValidationFailed("moving to a queue needs the escalation queue",
                               field="escalation_queue_id")


def _checked_targets(targets: dict[str, dict[str, int | None]]) -> list[SlaTarget]:
    rows = []
    for priority, minutes in targets.items():
        level = checked_enum(Priority, priority, "targets")
        for metric in minutes:
            checked_enum(SlaMetric, metric, "targets")
        # Every column set, None too: a row replacing one of the same priority is an UPDATE.
        row = SlaTarget(priority=level, **{
            f"{metric.value}_minutes": _target_minutes(minutes.get(metric.value),
                                                       f"targets.{level.value}.{metric.value}")
            for metric in SlaMetric})
        if any(row.minutes(metric) for metric in SlaMetric):
            rows.append(row)
    return rows


def _target_minutes(value: object, field: str) -> int | None:
    return None if value is None else _minutes(value, field)


def _minutes(value: object, field: str, *, low: int = 1, high: int = MAX_TARGET_MINUTES) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailed(f"{field} must be a whole number of minutes from {low} to "
                               f"{high}, got {value!r}", field=field.split(".")[0])
    return value


def _subset(values: list[str], allowed: Iterable[str], field: str) -> list[str]:
    allowed = list(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationFailed(f"{unknown[0]!r} is not one of {', '.join(allowed)}", field=field)
    return [v for v in allowed if v in values]


# --- shared -----------------------------------------------------------------------------------

def _check_known(fields: dict[str, Any], known: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ValidationFailed(f"unknown {what} field(s): {', '.join(unknown)}",
                               field=unknown[0])


def _unique_name(uow: UnitOfWork, model: type[BusinessCalendar] | type[SlaPolicy],
                 row: BusinessCalendar | SlaPolicy, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a name has 1 to 100 characters", field="name")
    clash = uow.session.scalar(select(model.id).where(model.name == name))
    if clash is not None and clash != row.id:
        raise Conflict(f"the name {name!r} is taken", field="name")
    return name


def _optional_id(uow: UnitOfWork, model: type[Base], value: int | None, field: str) -> int | None:
    return None if value is None else get_or_404(uow.session, model, value, field=field).id


def _names(uow: UnitOfWork, model: type[Queue] | type[SlaPolicy], *where: Any) -> list[str]:
    kind = "queue" if model is Queue else "policy"
    return [f"{kind} {name!r}" for name in
            uow.session.scalars(select(model.name).where(or_(*where)).order_by(model.name))]


def _touch(calendar: BusinessCalendar) -> None:
    calendar.updated_at = utcnow()


def _audit(uow: UnitOfWork, actor: Actor, action: str, row: BusinessCalendar | SlaPolicy,
           details: dict[str, Any]) -> None:
    target = "business_calendar" if isinstance(row, BusinessCalendar) else "sla_policy"
    uow.record(events.StaffChanged(actor=actor, action=action, target_type=target,
                                   target_id=row.id, details=details))
