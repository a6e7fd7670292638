"""SLA settings: calendars (hours, time zone, holidays, the holidays package's seed) and
policies; every wrong input refused with an error naming it; nothing in use deleted."""

from __future__ import annotations

from datetime import date

import pytest

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from helpdesk.models import BusinessCalendar, Priority, SlaPolicy
from helpdesk.services import queues, sla_settings

OFFICE = {"mon": ["13:30-18:00", "09:00-12:30"], "fri": ["09:00 - 17:00"]}


def calendar(uow, name: str = "Paris office", **fields) -> BusinessCalendar:
    return sla_settings.create_calendar(uow, SYSTEM, name=name, timezone="Europe/Paris",
                                        hours=OFFICE, **fields)


def test_a_calendar_is_stored_normalised_with_every_weekday(uow):
    created = calendar(uow, holidays=[(date(2025, 12, 25), " Noël ")])
    assert created.hours["mon"] == ["09:00-12:30", "13:30-18:00"]
    assert created.hours["fri"] == ["09:00-17:00"]
    assert created.hours["sun"] == []
    assert [(h.day, h.name) for h in created.holidays] == [(date(2025, 12, 25), "Noël")]
    hours = created.business_hours()
    assert hours.week[0] == ((540, 750), (810, 1080)) and hours.holidays == {date(2025, 12, 25)}


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"timezone": "Europe/Lutece"}, "timezone", "not an IANA time zone"),
    ({"hours": {"monday": ["09:00-12:00"]}}, "hours", "unknown weekday 'monday'"),
    ({"hours": {"tue": ["9-12"]}}, "hours", "hours of tue: '9-12' is not a period"),
    ({"hours": {"tue": ["12:00-09:00"]}}, "hours", "ends before it starts"),
    ({"hours": {"sun": []}}, "hours", "must be open at some time"),
    ({"holidays": [(date(2025, 1, 1), "a"), (date(2025, 1, 1), "b")]}, "holidays",
     "listed twice"),
    ({"colour": "red"}, "colour", "unknown calendar field"),
])
def test_a_wrong_calendar_is_refused_naming_the_field(uow, fields, field, message):
    made = calendar(uow)
    with pytest.raises(ValidationFailed, match=message) as refused:
        sla_settings.update_calendar(uow, SYSTEM, made.id, **fields)
    assert refused.value.field == field


def test_calendar_names_are_unique(uow):
    calendar(uow)
    with pytest.raises(Conflict, match="taken"):
        calendar(uow, name=" Paris office ")


def test_holidays_are_added_removed_and_seeded_from_the_holidays_package(uow):
    made = calendar(uow)
    christmas = sla_settings.add_holiday(uow, SYSTEM, made.id, day=date(2025, 12, 25),
                                         name="Noël")
    with pytest.raises(Conflict, match="already a holiday"):
        sla_settings.add_holiday(uow, SYSTEM, made.id, day=date(2025, 12, 25))
    added = sla_settings.seed_holidays(uow, SYSTEM, made.id, country="fr", year=2025)
    assert added == 10  # France has 11 public holidays; Christmas was there
    days = {h.day for h in made.holidays}
    assert {date(2025, 4, 21), date(2025, 7, 14), date(2025, 12, 25)} <= days
    assert sla_settings.seed_holidays(uow, SYSTEM, made.id, country="FR", year=2025) == 0
    sla_settings.remove_holiday(uow, SYSTEM, made.id, christmas.id)
    assert date(2025, 12, 25) not in {h.day for h in made.holidays}
    with pytest.raises(NotFound, match="has no holiday"):
        sla_settings.remove_holiday(uow, SYSTEM, made.id, christmas.id)


def test_a_subdivision_adds_its_own_holidays(uow):
    made = calendar(uow)
    sla_settings.seed_holidays(uow, SYSTEM, made.id, country="DE", year=2025, subdivision="BY")
    assert date(2025, 1, 6) in {h.day for h in made.holidays}  # Epiphany, in Bavaria


@pytest.mark.parametrize(("seed", "field"), [
    ({"country": "XX", "year": 2025}, "country"),
    ({"country": "FR", "year": 2025, "subdivision": "ZZ"}, "subdivision"),
    ({"country": "FR", "year": 1200}, "year"),
])
def test_a_wrong_seed_is_refused(uow, seed, field):
    made = calendar(uow)
    with pytest.raises(ValidationFailed) as refused:
        sla_settings.seed_holidays(uow, SYSTEM, made.id, **seed)
    assert refused.value.field == field


def test_a_policy_keeps_targets_per_priority(uow):
    made = calendar(uow)
    policy = sla_settings.create_policy(
        uow, SYSTEM, name="Standard", calendar_id=made.id, warning_minutes=30,
        targets={"urgent": {"first_response": 15, "resolution": 120},
                 "low": {"first_response": None}})
    assert policy.pause_statuses == ["pending", "on_hold"]  # the default
    assert [t.priority for t in policy.targets] == [Priority.URGENT]  # low has no target
    urgent = policy.target_for(Priority.URGENT)
    assert (urgent.first_response_minutes, urgent.next_response_minutes,
            urgent.resolution_minutes) == (15, None, 120)
    sla_settings.update_policy(uow, SYSTEM, policy.id,
                               targets={"urgent": {"first_response": 10}})
    assert policy.target_for(Priority.URGENT).resolution_minutes is None


@pytest.mark.parametrize(("fields", "field"), [
    ({"targets": {"asap": {"first_response": 5}}}, "targets"),
    ({"targets": {"high": {"first_answer": 5}}}, "targets"),
    ({"targets": {"high": {"first_response": 0}}}, "targets"),
    ({"targets": {"high": {"first_response": "5"}}}, "targets"),
    ({"pause_statuses": ["solved"]}, "pause_statuses"),
    ({"warning_minutes": -1}, "warning_minutes"),
    ({"breach_actions": ["page_the_ceo"]}, "breach_actions"),
    ({"breach_actions": ["move_queue"]}, "escalation_queue_id"),
    ({"calendar_id": 999_999}, "calendar_id"),
    ({"escalation_queue_id": 999_999}, "escalation_queue_id"),
])
def test_a_wrong_policy_is_refused_naming_the_field(uow, fields, field):
    with pytest.raises((ValidationFailed, NotFound)) as refused:
        sla_settings.create_policy(uow, SYSTEM, name="Standard", **fields)
    assert refused.value.field == field


def test_what_a_queue_uses_cannot_be_deleted_and_a_queue_checks_what_it_points_at(uow):
    made = calendar(uow)
    policy = sla_settings.create_policy(uow, SYSTEM, name="Standard", calendar_id=made.id)
    queue = queues.create_queue(uow, SYSTEM, name="Support", sla_policy_id=policy.id)
    with pytest.raises(Conflict, match="used by policy 'Standard'"):
        sla_settings.delete_calendar(uow, SYSTEM, made.id)
    with pytest.raises(Conflict, match="used by queue 'Support'"):
        sla_settings.delete_policy(uow, SYSTEM, policy.id)
    with pytest.raises(NotFound) as refused:
        queues.update_queue(uow, SYSTEM, queue.id, business_hours_id=999_999)
    assert refused.value.field == "business_hours_id"

    queues.update_queue(uow, SYSTEM, queue.id, sla_policy_id=None)
    sla_settings.delete_policy(uow, SYSTEM, policy.id)
    sla_settings.delete_calendar(uow, SYSTEM, made.id)
    assert uow.session.get(SlaPolicy, policy.id) is None


def test_saving_settings_stamps_them_for_the_worker(app):
    with app.app_context(), unit_of_work() as uow:
        made = calendar(uow)
        stamped = made.updated_at
        sla_settings.update_calendar(uow, SYSTEM, made.id, name="Renamed")
        assert made.updated_at == stamped  # a new name changes no clock
        sla_settings.update_calendar(uow, SYSTEM, made.id, timezone="Europe/Brussels")
        assert made.updated_at > stamped
