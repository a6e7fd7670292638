"""The IMAP worker against a real (private) Dovecot: ``comptoir worker`` polls a mailbox into
conversations, once per message, whatever happens to the folder, the password, a second
worker or the worker process itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from helpdesk import jobs
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.jobs import IdleWatcher, Worker
from helpdesk.mail import imap, intake
from helpdesk.mail.imap import ImapSettings, ImapSource
from helpdesk.models import (
    Conversation,
    InboundEmail,
    InboundSource,
    InboundState,
    IntakeOutcome,
    Mailbox,
    MailboxSecurity,
    Message,
)
from helpdesk.services import mailboxes, outbox
from tests.dovecot import Account, free_port, mailbox_fields
from tests.factories import raw_email

COMPTOIR = Path(sys.executable).with_name("comptoir")
WAIT = 60.0  # seconds before giving up on something that should happen
PROCESS_WAIT = 600.0  # a worker process: a cold start and a thousand messages, loaded machine
CRASH_MESSAGES = 1000


def add_mailbox(app: Flask, account: Account, password: str | None = None,
                **settings: object) -> int:
    with app.app_context(), unit_of_work() as uow:
        return mailboxes.create_mailbox(uow, SYSTEM, password=password or account.password,
                                        **mailbox_fields(account, **settings)).id


def run_once(runner) -> list[str]:
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def inbound(app: Flask, mailbox_id: int) -> list[InboundEmail]:
    with app.app_context():
        return list(db.session.scalars(select(InboundEmail).where(
            InboundEmail.mailbox_id == mailbox_id).order_by(InboundEmail.id)))


def mailbox(app: Flask, mailbox_id: int) -> Mailbox:
    with app.app_context():
        return db.session.get(Mailbox, mailbox_id)


def count(app: Flask, model: type, *where: object) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def settings_of(account: Account) -> ImapSettings:
    return ImapSettings(account.host, account.port, MailboxSecurity.NONE, account.username,
                        account.password)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


# --- polling --------------------------------------------------------------------------------


def test_worker_once_turns_a_mailbox_into_conversations_and_a_second_run_takes_nothing(
        app, runner, account):
    account.append([raw_email(sender=f"client{n}@example.com", subject=f"Order {n}")
                    for n in range(3)])
    mailbox_id = add_mailbox(app, account)
    assert run_once(runner) == [f"mailbox {mailbox_id}: 3 messages fetched"]
    emails = inbound(app, mailbox_id)
    assert [(e.source, e.state, e.outcome) for e in emails] == [
        (InboundSource.IMAP, InboundState.PROCESSED, IntakeOutcome.NEW_CONVERSATION)] * 3
    assert emails[2].source_ref.endswith(f"/INBOX;UIDVALIDITY={account.uid_validity()}/;UID=3")
    with app.app_context():
        subjects = {db.session.get(Conversation, e.conversation_id).subject for e in emails}
    assert subjects == {"Order 0", "Order 1", "Order 2"}
    first = mailbox(app, mailbox_id)
    assert (first.last_uid, first.uid_validity, first.last_error) == (
        3, account.uid_validity(), "")

    assert run_once(runner) == [f"mailbox {mailbox_id}: 0 messages fetched"]
    assert len(inbound(app, mailbox_id)) == 3
    assert mailbox(app, mailbox_id).last_polled_at > first.last_polled_at


def test_mail_arriving_after_a_run_is_taken_by_the_next_and_threads(app, runner, account):
    account.append([raw_email(message_id="first@client.example")])
    mailbox_id = add_mailbox(app, account)
    run_once(runner)
    account.append([raw_email(in_reply_to="first@client.example", body="Any news?")])
    assert run_once(runner) == [f"mailbox {mailbox_id}: 1 message fetched"]
    first, reply = inbound(app, mailbox_id)
    assert reply.outcome == IntakeOutcome.APPENDED
    assert reply.conversation_id == first.conversation_id
    assert mailbox(app, mailbox_id).last_uid == 2


def test_a_new_uidvalidity_reads_the_folder_again_without_doubling(app, runner, account):
    known = [raw_email(sender=f"client{n}@example.com") for n in range(2)]
    account.append(known, folder="Support")
    mailbox_id = add_mailbox(app, account, imap_folder="Support")
    run_once(runner)
    before = mailbox(app, mailbox_id).uid_validity
    account.recreate("Support")
    account.append([*known, raw_email(sender="newcomer@example.com")], folder="Support")
    assert run_once(runner) == [f"mailbox {mailbox_id}: 3 messages fetched"]
    after = mailbox(app, mailbox_id)
    assert after.uid_validity == account.uid_validity("Support") != before
    assert after.last_uid == 3
    assert len(inbound(app, mailbox_id)) == 3
    assert count(app, Message) == 3


def test_a_failing_mailbox_records_its_error_and_the_worker_goes_on(app, runner, account,
                                                                    dovecot):
    other = dovecot.new_account()
    wrong = add_mailbox(app, other, password="not the password")
    closed = add_mailbox(app, account, address="closed@example.com", imap_port=free_port())
    account.append([raw_email()])
    good = add_mailbox(app, account)
    lines = run_once(runner)
    assert lines[2] == f"mailbox {good}: 1 message fetched"
    refused = mailbox(app, wrong)
    assert refused.last_error.startswith(f"the server refused the login of {other.username}: ")
    assert "Authentication failed" in refused.last_error
    assert refused.last_polled_at is not None
    assert mailbox(app, closed).last_error.startswith("cannot connect to 127.0.0.1:")
    assert lines[0] == f"mailbox {wrong}: 0 messages fetched; error: {refused.last_error}"

    with app.app_context(), unit_of_work() as uow:
        mailboxes.update_mailbox(uow, SYSTEM, wrong, password=other.password)
    run_once(runner)
    assert mailbox(app, wrong).last_error == ""


def test_an_email_an_interrupted_poll_stored_is_processed_by_the_next(app, runner, account):
    mailbox_id = add_mailbox(app, account)
    with app.app_context():  # a poll that stopped between storing and processing
        inbound_id = intake.store(raw_email(), intake.Source(InboundSource.IMAP, "UID=1",
                                                             mailbox_id))
    assert run_once(runner) == [f"mailbox {mailbox_id}: 0 messages fetched"]
    (email,) = inbound(app, mailbox_id)
    assert (email.id, email.state) == (inbound_id, InboundState.PROCESSED)


def test_a_deactivated_mailbox_is_not_polled(app, runner, account):
    account.append([raw_email()])
    mailbox_id = add_mailbox(app, account)
    with app.app_context(), unit_of_work() as uow:
        mailboxes.deactivate_mailbox(uow, SYSTEM, mailbox_id)
    assert run_once(runner) == []
    assert inbound(app, mailbox_id) == []


def test_mailbox_commands_add_list_and_test(app, runner, account):
    added = runner.invoke(args=["mailbox", "add", account.username, "--host", account.host,
                                "--port", str(account.port), "--security", "none"],
                          input=f"{account.password}\n")
    assert added.exit_code == 0, added.output
    mailbox_id = int(re.search(r"created mailbox (\d+) for ", added.output).group(1))
    listed = runner.invoke(args=["mailbox", "list"]).output
    assert f"{account.host}:{account.port} (none)" in listed and "active" in listed
    tested = runner.invoke(args=["mailbox", "test", str(mailbox_id)])
    assert (tested.exit_code, tested.output) == (0, "ok: the folder holds 0 messages "
                                                    f"(UIDVALIDITY {account.uid_validity()})\n")
    with app.app_context(), unit_of_work() as uow:
        mailboxes.update_mailbox(uow, SYSTEM, mailbox_id, password="not the password")
    refused = runner.invoke(args=["mailbox", "test", str(mailbox_id)])
    assert refused.exit_code == 1
    assert "Error: the server refused the login of" in refused.output
    assert "Traceback" not in refused.output


def test_mailbox_add_names_what_is_wrong(runner):
    result = runner.invoke(args=["mailbox", "add", "support@shop.example", "--host",
                                 "imap.shop.example", "--port", "0", "--password", "x"])
    assert result.exit_code == 1
    assert "the imap port must be a whole number from 1 to 65535" in result.output


# --- several pollers ------------------------------------------------------------------------


def test_a_mailbox_another_poller_holds_is_skipped(app, runner, account):
    account.append([raw_email()])
    mailbox_id = add_mailbox(app, account)
    with app.app_context(), imap.mailbox_lease(mailbox_id) as leased:
        assert leased
        assert run_once(runner) == [
            f"mailbox {mailbox_id}: skipped: another worker is polling it"]
    assert inbound(app, mailbox_id) == []
    assert run_once(runner) == [f"mailbox {mailbox_id}: 1 message fetched"]


def test_two_workers_polling_one_mailbox_take_each_message_once(app, account):
    messages = [raw_email(sender=f"client{n % 7}@example.com", subject=f"Order {n}")
                for n in range(40)]
    account.append(messages[:20])
    mailbox_id = add_mailbox(app, account)
    stop = threading.Event()

    def keep_polling() -> None:
        with app.app_context():
            worker = Worker()
            while not stop.is_set():
                worker.tick(every=True)

    workers = [threading.Thread(target=keep_polling) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        account.append(messages[20:])
        wait_until(lambda: count(app, InboundEmail, InboundEmail.state
                                 == InboundState.PROCESSED) == 40, "40 processed emails")
    finally:
        stop.set()
        for worker in workers:
            worker.join(WAIT)
    assert len(inbound(app, mailbox_id)) == 40
    assert count(app, Message) == 40
    assert mailbox(app, mailbox_id).last_uid == 40


def test_each_tick_sends_the_due_mail_when_smtp_is_configured(app, monkeypatch):
    calls = []
    monkeypatch.setattr(outbox, "send_due", lambda *args: calls.append(args))
    with app.app_context():
        Worker().tick()  # no SMTP server configured: the mail waits
        assert calls == []
        mailer = object()
        monkeypatch.setattr(jobs, "mailer_from_settings", lambda _settings: mailer)
        Worker().tick()
    assert [(factory, sent_with) for factory, sent_with, _now in calls] == [
        (unit_of_work, mailer)]


# --- IDLE -----------------------------------------------------------------------------------


def test_idle_reports_a_new_message(account):
    with ImapSource(settings_of(account)) as source:
        assert source.supports_idle()
        assert not source.wait_for_news(0.2)  # nothing new
        account.append([raw_email()])
        assert source.wait_for_news(WAIT)
        assert source.uids_after(0) == [1]  # the session is usable after IDLE


def test_the_idle_watcher_calls_back_on_new_mail(account):
    news = threading.Event()
    watcher = IdleWatcher(settings_of(account), news.set)
    watcher.start()
    try:
        assert watcher.watching.wait(WAIT)
        account.append([raw_email()])
        assert news.wait(WAIT)
    finally:
        watcher.stop()
        watcher.join(WAIT)
    assert not watcher.is_alive()


def test_a_woken_mailbox_is_polled_before_it_is_due(app, account):
    mailbox_id = add_mailbox(app, account, poll_seconds=3600, use_idle=True)
    with app.app_context():
        worker = Worker()
        assert [r.mailbox_id for r in worker.tick()] == [mailbox_id]  # never polled: due
        account.append([raw_email()])
        assert worker.tick() == []
        worker.wake(mailbox_id)
        assert [(r.mailbox_id, r.fetched) for r in worker.tick()] == [(mailbox_id, 1)]


# --- a worker process killed ----------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded(dovecot) -> Account:
    """An account holding a thousand messages (reading never changes them: shared)."""
    account = dovecot.new_account()
    account.append(raw_email(sender=f"client{n % 50}@example.com", subject=f"Parcel {n}",
                             body=f"Message number {n}.") for n in range(CRASH_MESSAGES))
    return account


def test_a_worker_killed_mid_mailbox_loses_and_doubles_nothing(app, crowded, tmp_path):
    mailbox_id = add_mailbox(app, crowded)
    stored = lambda: count(app, InboundEmail)  # noqa: E731
    first = start_worker(app, tmp_path)
    try:
        wait_until(lambda: stored() >= CRASH_MESSAGES // 10, "the worker to get going",
                   PROCESS_WAIT)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(WAIT)
    assert first.returncode == -signal.SIGKILL
    assert stored() < CRASH_MESSAGES  # killed in the middle

    second = start_worker(app, tmp_path)
    try:
        wait_until(lambda: count(app, InboundEmail, InboundEmail.state
                                 != InboundState.RECEIVED) == CRASH_MESSAGES,
                   "every message processed", PROCESS_WAIT)
    finally:
        second.send_signal(signal.SIGTERM)  # a clean stop
        second.wait(WAIT)
    output = (tmp_path / "worker.log").read_text()
    assert second.returncode == 0, output
    assert "Comptoir worker stopped" in output
    emails = inbound(app, mailbox_id)
    assert len(emails) == CRASH_MESSAGES
    assert {e.state for e in emails} == {InboundState.PROCESSED}
    assert sorted(int(e.source_ref.rsplit("=", 1)[1]) for e in emails) == list(
        range(1, CRASH_MESSAGES + 1))
    assert count(app, Message) == CRASH_MESSAGES
    assert len({e.message_id for e in emails}) == CRASH_MESSAGES
    assert mailbox(app, mailbox_id).last_uid == CRASH_MESSAGES


def start_worker(app: Flask, tmp_path: Path) -> subprocess.Popen:
    """A real ``comptoir worker`` on the test's database."""
    settings = app.config["COMPTOIR"]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    env = inherited | {"COMPTOIR_DATABASE_URL": settings.database_url,
                       "COMPTOIR_INSTANCE_PATH": str(tmp_path / "worker"),
                       "COMPTOIR_SECRET_KEY": settings.secret_key, "PYTHONUNBUFFERED": "1"}
    with (tmp_path / "worker.log").open("a") as log:  # a file: a full pipe would block it
        return subprocess.Popen([str(COMPTOIR), "worker", "--interval", "0.2"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
