"""Privacy in the agent UI: export and erase from the customer page, the requests page and
its downloads, the retention rules with their preview; who sees what."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    AuditLog,
    Channel,
    Conversation,
    ConversationStatus,
    RetentionSetting,
    Role,
)
from helpdesk.orm import utcnow
from helpdesk.privacy import apply_retention, exports
from helpdesk.services import chat, customers
from tests.helpers import csrf_token


@pytest.fixture
def supervisor(make, auth):
    user = make.user(Role.SUPERVISOR, name="Sue Pervisor")
    auth.login(user.email)
    return user


@pytest.fixture
def admin(make, auth):
    user = make.user(Role.ADMIN)
    auth.login(user.email)
    return user


def post(client, page, action, **form):
    return client.post(action, data={"csrf_token": csrf_token(client, page), **form},
                       follow_redirects=True)


def flashes(response):
    return [html.unescape(t) for t in re.findall(
        r'<p class="flash flash-\w+"[^>]*>([^<]+)</p>', response.get_data(as_text=True))]


def test_export_from_the_customer_page_then_download(client, supervisor, make, app):
    customer = make.customer(name="Chloé <b>Export</b>")
    make.conversation(customer, body="Mon colis")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Export their data" in page and f'placeholder="ERASE {customer.id}"' in page
    done = post(client, f"/customers/{customer.id}", f"/customers/{customer.id}/privacy/export")
    assert flashes(done) == ["The export is ready: download it below."]
    text = done.get_data(as_text=True)
    assert "Chloé &lt;b&gt;Export&lt;/b&gt;" in text and "<b>Export</b>" not in text
    link = re.search(r'href="(/privacy/requests/(\d+)/download)"', text)
    archive = client.get(link.group(1))
    data = archive.get_data()
    archive.close()
    assert archive.mimetype == "application/zip"
    assert "profile.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    with app.app_context():
        audited = db.session.scalar(select(AuditLog.target_id).where(
            AuditLog.action == "data_request.downloaded"))
    assert audited == int(link.group(2))


def test_a_large_export_shows_as_waiting_until_the_worker_builds_it(client, supervisor,
                                                                    make, monkeypatch):
    monkeypatch.setattr(exports, "INLINE_MAX_ROWS", 0)
    customer = make.customer()
    waiting = post(client, f"/customers/{customer.id}",
                   f"/customers/{customer.id}/privacy/export")
    assert "the archive is being built" in flashes(waiting)[0]
    text = waiting.get_data(as_text=True)
    assert "Waiting" in text and 'hx-trigger="every 5s"' in text and "/download" not in text


def test_erasure_needs_the_phrase_then_leaves_the_marker(client, supervisor, make):
    customer = make.customer(name="Eve Erase")
    make.conversation(customer, body="Forget me please")
    page, action = f"/customers/{customer.id}", f"/customers/{customer.id}/privacy/erase"
    refused = post(client, page, action, confirm="erase")
    assert f"type 'ERASE {customer.id}' to confirm" in flashes(refused)[0]
    assert "Eve Erase" in refused.get_data(as_text=True)
    erased = post(client, page, action, confirm=f"ERASE {customer.id}")
    assert flashes(erased) == [f"Everything about customer #{customer.id} was erased."]
    text = erased.get_data(as_text=True)
    assert "Eve Erase" not in text and "Forget me please" not in text
    assert "This customer's data was erased" in text
    assert "Sue Pervisor erased the customer's data" in text
    assert "7 records deleted, 0 files removed" in text


def test_an_agent_sees_neither_the_buttons_nor_the_pages(client, auth, make):
    agent = make.user(Role.AGENT)
    auth.login(agent.email)
    customer = make.customer()
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Export their data" not in page and ">Privacy<" not in page
    assert client.get("/privacy").status_code == 403
    token = csrf_token(client, f"/customers/{customer.id}")
    refused = client.post(f"/customers/{customer.id}/privacy/erase",
                          data={"csrf_token": token, "confirm": f"ERASE {customer.id}"})
    assert refused.status_code == 403


def test_a_supervisor_has_no_retention_rules(client, supervisor):
    assert ">Privacy<" in client.get("/privacy").get_data(as_text=True)
    assert "Retention rules" not in client.get("/privacy").get_data(as_text=True)
    assert client.get("/privacy/retention").status_code == 403


def test_retention_rules_are_saved_previewed_and_applied(client, admin, make, app):
    visitor = _anonymous_chat(app, make, days_ago=40)
    form = {rule: "" for rule in ("closed_chat", "closed_email", "closed_phone",
                                  "closed_web_form", "closed_api", "email_sources")}
    saved = post(client, "/privacy/retention", "/privacy/retention",
                 anonymous_chat="30", **form)
    assert flashes(saved) == ["Retention rules saved."]
    text = saved.get_data(as_text=True)
    assert 'value="30"' in text and "1 conversation, 1 visitor" in text
    assert "Kept for ever" in text
    with app.app_context():
        apply_retention(utcnow())
        assert db.session.get(Conversation, visitor) is None
    runs = client.get("/privacy/retention").get_data(as_text=True)
    assert "records deleted or purged" in runs and "0 conversations, 0 visitors" in runs


def test_retention_refuses_what_is_not_a_number(client, admin, app):
    refused = post(client, "/privacy/retention", "/privacy/retention", closed_email="soon")
    assert refused.status_code == 422
    assert "Enter a number of days for closed_email" in flashes(refused)[0]
    assert 'value="soon"' in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(RetentionSetting)).all() == []


def _anonymous_chat(app, make, days_ago: int) -> int:
    """A solved chat of a visitor known by nothing else, idle for ``days_ago`` days."""
    with app.app_context(), unit_of_work() as uow:
        visitor = customers.identify(uow, SYSTEM, chat.IdentityKind.VISITOR, "v-retention")
    conversation = make.conversation(visitor, channel=Channel.CHAT, body="Hi")
    with app.app_context(), unit_of_work() as uow:
        row = uow.session.get(Conversation, conversation.id)
        row.status = ConversationStatus.SOLVED
        row.created_at = row.last_message_at = utcnow() - timedelta(days=days_ago)
        uow.session.get(type(visitor), visitor.id).created_at = row.created_at
        uow.commit()
    return conversation.id
