"""The admins' mailbox pages: create and edit mailboxes (the password stored encrypted,
never shown), test a connection against a real (private) Dovecot, deactivate, see the last
poll and error, reprocess the quarantine; nobody else may."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import intake
from helpdesk.mail.secrets import decrypt_secret
from helpdesk.models import InboundEmail, InboundSource, InboundState, Mailbox, Role
from helpdesk.services import email_intake, mailboxes
from tests.conftest import AuthActions
from tests.dovecot import PrivateDovecot, mailbox_fields, running_dovecot
from tests.factories import raw_email
from tests.helpers import csrf_token

PASSWORD = "imap-pass-7f3k"  # a test mailbox's
PASSWORD_INPUT = re.compile(r'<input[^>]*name="password"[^>]*>')


@pytest.fixture(scope="module")
def dovecot() -> Iterator[PrivateDovecot]:
    yield from running_dovecot()


@pytest.fixture
def admin(make, auth):
    user = make.user(Role.ADMIN, email="root@staff.example")
    auth.login(user.email)
    return user


def post(client, path: str, **form: object):
    """Submit a form as the page does (CSRF token included), following the redirect."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **form},
                       follow_redirects=True)


def add_mailbox(app, password: str = PASSWORD, **fields: object) -> Mailbox:
    settings = {"name": "Support", "address": "support@shop.example",
                "imap_host": "imap.shop.example", **fields}
    with app.app_context(), unit_of_work() as uow:
        return mailboxes.create_mailbox(uow, SYSTEM, password=password, **settings)


def stored(app, mailbox_id: int) -> Mailbox:
    with app.app_context():
        return db.session.get(Mailbox, mailbox_id)


FORM = {"name": "After-sales", "address": "sav@shop.example", "imap_host": "imap.shop.example",
        "imap_security": "tls", "imap_port": "", "imap_username": "", "imap_folder": "INBOX",
        "poll_seconds": "120", "queue_id": ""}


def test_an_admin_creates_a_mailbox_its_password_encrypted_and_never_shown(app, client, admin):
    page = post(client, "/mailboxes/new", **FORM, password=PASSWORD, use_idle="on")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Mailbox created." in text
    assert "After-sales" in text and "imap.shop.example:993" in text
    with app.app_context():
        mailbox = db.session.scalar(select(Mailbox))
        assert PASSWORD not in mailbox.password_encrypted
        assert decrypt_secret(mailbox.password_encrypted) == PASSWORD
    assert (mailbox.imap_username, mailbox.poll_seconds, mailbox.use_idle) == (
        "sav@shop.example", 120, True)
    edit = client.get(f"/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert PASSWORD not in edit and PASSWORD not in text
    assert "value" not in PASSWORD_INPUT.search(edit).group(0)


def test_a_blank_password_keeps_the_saved_one_and_a_new_one_replaces_it(app, client, admin):
    mailbox = add_mailbox(app)
    form = {**FORM, "imap_port": "993", "imap_username": "sav", "active": "on"}
    post(client, f"/mailboxes/{mailbox.id}", **form, password="")
    saved = stored(app, mailbox.id)
    assert (saved.name, saved.imap_username) == ("After-sales", "sav")
    with app.app_context():
        assert decrypt_secret(saved.password_encrypted) == PASSWORD
    post(client, f"/mailboxes/{mailbox.id}", **form, password="a new one")
    with app.app_context():
        assert decrypt_secret(stored(app, mailbox.id).password_encrypted) == "a new one"


def test_a_refused_form_comes_back_with_what_was_typed_but_the_password(app, client, admin):
    page = post(client, "/mailboxes/new", **{**FORM, "imap_port": "99999"}, password=PASSWORD)
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "the imap port must be a whole number from 1 to 65535" in text
    assert 'value="After-sales"' in text and 'value="99999"' in text
    assert PASSWORD not in text
    with app.app_context():
        assert db.session.scalar(select(Mailbox)) is None


def test_test_connection_says_what_the_server_answered(app, client, admin, dovecot):
    account = dovecot.new_account()
    account.append([raw_email()])
    good = add_mailbox(app, account.password, **mailbox_fields(account))
    wrong = add_mailbox(app, "not the password",
                        **mailbox_fields(dovecot.new_account(), name="Wrong"))
    works = post(client, f"/mailboxes/{good.id}/test").get_data(as_text=True)
    assert "Connection works: the folder holds 1 message." in works
    failed = post(client, f"/mailboxes/{wrong.id}/test",
                  next=f"/mailboxes/{wrong.id}").get_data(as_text=True)
    assert (f"Connection failed: the server refused the login of {wrong.imap_username}: "
            "[AUTHENTICATIONFAILED] Authentication failed.") in failed
    assert "Polling" in failed  # back on the mailbox's page


def test_the_list_shows_the_last_poll_and_error_and_deactivates(app, client, admin):
    mailbox = add_mailbox(app)
    with app.app_context(), unit_of_work() as uow:
        mailboxes.record_poll(uow, mailbox.id, "the server refused the login <b>x</b>")
    text = client.get("/mailboxes").get_data(as_text=True)
    assert "the server refused the login &lt;b&gt;x&lt;/b&gt;" in text
    assert "just now" in text and "Polled" in text
    text = post(client, f"/mailboxes/{mailbox.id}/deactivate").get_data(as_text=True)
    assert "Mailbox deactivated" in text and "Deactivated" in text
    assert stored(app, mailbox.id).active is False


def test_the_quarantine_lists_failed_emails_and_reprocesses_them(app, client, admin,
                                                                 monkeypatch):
    with app.app_context(), monkeypatch.context() as patched:
        patched.setattr(email_intake, "_deliver", lambda *_a: 1 / 0)
        failed = intake.ingest(raw_email(), intake.Source(InboundSource.API, "token 1"))
    assert failed.outcome == "quarantined"
    assert "1 email in quarantine" in client.get("/mailboxes").get_data(as_text=True)
    listed = client.get("/mailboxes/quarantine").get_data(as_text=True)
    assert f"#{failed.inbound_id}" in listed and "ZeroDivisionError" in listed
    done = post(client, f"/mailboxes/quarantine/{failed.inbound_id}/reprocess")
    text = done.get_data(as_text=True)
    assert f"Email {failed.inbound_id} processed: it opened a new conversation." in text
    assert "The quarantine is empty." in text
    with app.app_context():
        assert email_intake.quarantined(db.session) == []
        assert db.session.get(InboundEmail, failed.inbound_id).state == (
            InboundState.PROCESSED)


# --- who may ---------------------------------------------------------------------------------

ROUTES = [("GET", "/mailboxes"), ("GET", "/mailboxes/new"), ("POST", "/mailboxes/new"),
          ("GET", "/mailboxes/{id}"), ("POST", "/mailboxes/{id}"),
          ("POST", "/mailboxes/{id}/deactivate"), ("POST", "/mailboxes/{id}/test"),
          ("GET", "/mailboxes/quarantine"), ("POST", "/mailboxes/quarantine/1/reprocess")]


def test_the_routes_above_are_every_mailbox_route(module_app):
    rules = {(method, rule.rule.replace("<int:mailbox_id>", "{id}")
              .replace("<int:inbound_id>", "1"))
             for rule in module_app.url_map.iter_rules() if rule.rule.startswith("/mailboxes")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == set(ROUTES)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.KNOWLEDGE_MANAGER])
def test_only_admins_reach_the_mailbox_pages(module_app, module_make, role):
    mailbox_id = add_mailbox(module_app, address=f"{role.value}@shop.example").id
    client = module_app.test_client()
    AuthActions(client).login(module_make.user(role).email)
    token = csrf_token(client, "/account")
    assert "/mailboxes" not in client.get("/account").get_data(as_text=True)
    for method, path in ROUTES:
        response = client.open(path.format(id=mailbox_id), method=method,
                               data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 403, (method, path)
    assert stored(module_app, mailbox_id).active is True
