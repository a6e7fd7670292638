"""The SLA page through its forms (calendars, holidays, policies, queues) and the clocks on a
conversation page; agents may not manage them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import BusinessCalendar, Holiday, Priority, Queue, Role, SlaPolicy
from helpdesk.orm import utcnow
from helpdesk.sla_triggers import check_clocks
from tests.helpers import csrf_token


@pytest.fixture
def supervisor(make, auth):
    user = make.user(Role.SUPERVISOR, email="sam@staff.example")
    auth.login(user.email)
    return user


def post(client, path: str, **form):
    """Submit a form as the page does (CSRF token included), following the redirect."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/sla"), **form},
                       follow_redirects=True)


def stored(app, model, **where):
    with app.app_context():
        return db.session.scalars(select(model).filter_by(**where)).one()


def holidays(app, calendar_id: int) -> list[Holiday]:
    with app.app_context():
        return list(db.session.get(BusinessCalendar, calendar_id).holidays)


CALENDAR_FORM = {"name": "Paris office", "timezone": "Europe/Paris",
                 "hours_mon": "13:30-18:00, 09:00-12:30", "hours_tue": "09:00-17:00",
                 "hours_wed": "", "hours_thu": "", "hours_fri": "", "hours_sat": "",
                 "hours_sun": ""}


def test_a_supervisor_sets_up_hours_holidays_a_policy_and_a_queue(app, client, supervisor,
                                                                  make):
    page = post(client, "/sla/calendars/new", **CALENDAR_FORM).get_data(as_text=True)
    assert "Calendar created." in page
    calendar = stored(app, BusinessCalendar, name="Paris office")
    assert calendar.hours["mon"] == ["09:00-12:30", "13:30-18:00"]
    form = client.get(f"/sla/calendars/{calendar.id}").get_data(as_text=True)
    assert 'value="09:00-12:30, 13:30-18:00"' in form

    post(client, f"/sla/calendars/{calendar.id}/holidays", day="2026-12-25", name="Noël")
    page = post(client, f"/sla/calendars/{calendar.id}/holidays/seed", country="FR",
                year="2026").get_data(as_text=True)
    assert "10 public holidays added." in page
    assert "Noël" in page
    christmas = next(h.id for h in holidays(app, calendar.id) if h.day == date(2026, 12, 25))
    post(client, f"/sla/calendars/{calendar.id}/holidays/{christmas}/delete")
    assert len(holidays(app, calendar.id)) == 10

    escalation = make.queue("Escalations")
    page = post(client, "/sla/policies/new", name="Standard", calendar_id=str(calendar.id),
                pause_statuses="pending", warning_minutes="15",
                warning_actions="notify", breach_actions=["notify", "move_queue"],
                escalation_queue_id=str(escalation.id),
                **{"target-normal-first_response": "60", "target-normal-resolution": "480",
                   "target-urgent-first_response": "15"}).get_data(as_text=True)
    assert "Policy created." in page
    policy = stored(app, SlaPolicy, name="Standard")
    assert (policy.pause_statuses, policy.breach_actions) == (["pending"],
                                                              ["notify", "move_queue"])
    with app.app_context():
        normal = db.session.get(SlaPolicy, policy.id).target_for(Priority.NORMAL)
        assert (normal.first_response_minutes, normal.next_response_minutes,
                normal.resolution_minutes) == (60, None, 480)

    queue = make.queue("Support")
    post(client, f"/sla/queues/{queue.id}", sla_policy_id=str(policy.id), business_hours_id="")
    assert stored(app, Queue, id=queue.id).sla_policy_id == policy.id
    conversation = make.conversation(queue_id=queue.id)
    page = client.get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "Service level" in page and "Policy: Standard" in page
    assert "First response" in page and "Resolution" in page

    with app.app_context():
        check_clocks(utcnow() + timedelta(days=7))  # long past any due time
    page = client.get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "SLA breached: First response was due" in page
    assert "Move to the escalation queue" in page


def test_a_refused_form_comes_back_as_typed_with_the_error(app, client, supervisor):
    response = post(client, "/sla/calendars/new", **{**CALENDAR_FORM, "hours_tue": "9h-17h"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "hours of tue: &#39;9h-17h&#39; is not a period" in page
    assert 'value="9h-17h"' in page
    response = post(client, "/sla/policies/new", name="Broken",
                    **{"target-high-first_response": "soon"})
    assert response.status_code == 422
    assert 'value="soon"' in response.get_data(as_text=True)


def test_names_are_escaped(client, supervisor, make):
    make.sla_policy(name="<b>Gold</b>")
    page = client.get("/sla").get_data(as_text=True)
    assert "&lt;b&gt;Gold&lt;/b&gt;" in page and "<b>Gold</b>" not in page


def test_what_a_queue_uses_is_not_deleted_from_the_page(app, client, supervisor, make):
    policy = make.sla_policy(name="Used")
    queue = make.queue()
    post(client, f"/sla/queues/{queue.id}", sla_policy_id=str(policy.id), business_hours_id="")
    page = post(client, f"/sla/policies/{policy.id}/delete").get_data(as_text=True)
    assert "is used by queue" in page
    post(client, f"/sla/queues/{queue.id}", sla_policy_id="", business_hours_id="")
    assert "Policy deleted." in post(client, f"/sla/policies/{policy.id}/delete").get_data(
        as_text=True)


@pytest.mark.parametrize("path", ["/sla", "/sla/calendars/new", "/sla/policies/new"])
def test_agents_may_not_manage_service_levels(client, auth, make, path):
    auth.login(make.user(Role.AGENT).email)
    assert client.get(path).status_code == 403
