"""The automation pages: create and edit a rule with rows, errors naming the part, the dry
run of what is typed, the runs, the rule named in the conversation's history; agents may not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Priority, Role, Rule
from helpdesk.orm import clock_at, utcnow
from tests.helpers import csrf_token


@pytest.fixture
def admin(make, auth):
    user = make.user(Role.SUPERVISOR, email="boss@staff.example", name="Boss")
    auth.login(user.email)
    return user


def post(client, path, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **form},
                       follow_redirects=True)


def stored(app, name) -> Rule:
    with app.app_context():
        return db.session.scalar(select(Rule).where(Rule.name == name))


def refund_form(billing_name, **extra):
    return {"name": "Refunds", "description": "", "trigger": "email_received",
            "delay_amount": "", "delay_unit": "hours", "match": "all",
            "cond-0-field": "subject", "cond-0-op": "contains", "cond-0-value": "remboursement",
            "cond-1-field": "", "cond-1-op": "is", "cond-1-value": "",
            "act-0-type": "set_queue", "act-0-value": billing_name, "act-0-text": "",
            "act-1-type": "set_priority", "act-1-value": "high", "act-1-text": "",
            "act-2-type": "", "act-2-value": "", "act-2-text": "",
            "position": "0", "active": "on", **extra}


def test_create_a_rule_from_rows_and_edit_it(client, app, make, admin):
    billing = make.queue("Billing")
    page = post(client, "/automation/new", **refund_form("billing"))
    assert "Rule created." in page.get_data(as_text=True)
    rule = stored(app, "Refunds")
    assert rule.conditions == {"all": [{"field": "subject", "op": "contains",
                                        "value": "remboursement"}]}
    assert rule.actions == [{"type": "set_queue", "queue_id": billing.id},
                            {"type": "set_priority", "priority": "high"}]
    assert rule.created_by_id == admin.id

    form = client.get(f"/automation/{rule.id}").get_data(as_text=True)
    assert 'value="Billing"' in form and 'value="remboursement"' in form
    post(client, f"/automation/{rule.id}", **refund_form(
        "Billing", trigger="pending_for", **{"delay_amount": "3", "delay_unit": "days",
                                             "act-1-value": "low"}))
    changed = stored(app, "Refunds")
    assert (changed.trigger.value, changed.delay_minutes) == ("pending_for", 3 * 24 * 60)
    assert changed.actions[1] == {"type": "set_priority", "priority": "low"}
    listing = client.get("/automation").get_data(as_text=True)
    assert "Refunds" in listing and "3 days" in listing


def test_a_bad_part_is_named_and_the_form_comes_back_as_typed(client, app, make, admin):
    make.queue("Billing")
    page = post(client, "/automation/new", **refund_form(
        "Billing", **{"cond-0-field": "status", "cond-0-value": "open"}))
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "conditions.all[0].op: status takes in, is, is_not, not contains" in text
    assert 'value="open"' in text
    assert stored(app, "Refunds") is None
    page = post(client, "/automation/new", **refund_form("Nowhere"))
    assert "actions[0].queue_id: no queue is named Nowhere" in page.get_data(as_text=True)


def test_dry_run_of_the_form_lists_what_it_would_have_matched(client, app, make, admin):
    make.queue("Billing")
    with clock_at(utcnow() - timedelta(days=2)):
        refund = make.conversation(subject="Remboursement commande 12")
    make.conversation(subject="Autre chose")
    page = post(client, "/automation/dry-run", **refund_form("Billing"))
    text = page.get_data(as_text=True)
    assert "would have fired 1 time" in text
    assert f"#{refund.id}" in text and "Remboursement commande 12" in text
    assert stored(app, "Refunds") is None  # nothing saved


def test_the_history_names_the_rule_and_its_runs_are_listed(client, app, make, admin):
    billing = make.queue("Billing")
    post(client, "/automation/new", **refund_form("Billing"))
    refund = make.conversation(subject="Remboursement")
    rule = stored(app, "Refunds")
    page = client.get(f"/conversations/{refund.id}").get_data(as_text=True)
    assert "The rule Refunds fired" in page
    assert "A rule changed the priority" in page
    assert "Queue: Billing" in page and "Priority: High" in page
    runs = client.get(f"/automation/{rule.id}").get_data(as_text=True)
    assert f"#{refund.id}" in runs and "Applied" in runs
    with app.app_context():
        assert db.session.get(type(refund), refund.id).priority == Priority.HIGH
        assert db.session.get(type(refund), refund.id).queue_id == billing.id


def test_agents_may_not(client, make, auth):
    agent = make.user(Role.AGENT)
    auth.login(agent.email)
    assert client.get("/automation").status_code == 403
    assert "/automation" not in client.get("/account").get_data(as_text=True)
