"""The background worker (``comptoir worker``): it polls the mailboxes and sends the mail
that is due, until SIGTERM or SIGINT.

Each tick polls the active mailboxes whose ``poll_seconds`` have passed since their last
poll (a single ``once`` tick: every active mailbox), hands over to the outbox, then runs
the periodic jobs that are due (helpdesk.periodic: the modules' own, the look for
replies whose mail was not queued, and the customer imports). A mailbox
with IDLE also gets a watcher thread holding an IDLE session: the server's news wakes the
loop, which polls that mailbox at once; polling goes on as the safety net. Nothing
quarantined is retried automatically (``comptoir email reprocess``). Several workers may
run: a mailbox is polled by one at a time (helpdesk.mail.imap.mailbox_lease).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import select

from helpdesk.errors import DomainError
from helpdesk.extensions import unit_of_work
from helpdesk.mail import imap
from helpdesk.mail.imap import ImapSettings, ImapSource, PollResult
from helpdesk.mail.outbound import mailer_from_settings
from helpdesk.models import Mailbox
from helpdesk.orm import utcnow
from helpdesk.periodic import periodic, periodic_jobs
from helpdesk.services import customer_imports, mailboxes, outbox

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0
SWEEP_INTERVAL = 60.0  # seconds between two looks for replies missed after their commit
IMPORTS_INTERVAL = 1.0  # seconds: customer imports go on at every tick
IDLE_ROUND = 25 * 60.0  # RFC 2177: renew IDLE before the server's 30-minute timeout
IDLE_RETRY = 60.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
T = TypeVar("T")


def send_outbox() -> None:
    """Send the outgoing mail that is due (one ``send_due`` batch a tick); without an SMTP
    server configured it waits in the outbox."""
    mailer = mailer_from_settings(current_app.config["COMPTOIR"])
    if mailer is not None:
        outbox.send_due(unit_of_work, mailer, utcnow())


def queue_missed_replies(now: datetime) -> None:
    """Queue the email replies whose mail was not queued after their commit."""
    policy = outbox.MailPolicy.from_settings(current_app.config["COMPTOIR"])
    outbox.queue_missed_replies(unit_of_work, policy, now)


def run_customer_imports(now: datetime) -> None:
    """Process the customer imports waiting (a few seconds' worth of rows each turn)."""
    customer_imports.run_imports(unit_of_work, now)


def init_app(app: Flask) -> None:
    """The worker's own periodic jobs."""
    periodic(app, "queueing missed replies", SWEEP_INTERVAL, queue_missed_replies)
    periodic(app, "customer imports", IMPORTS_INTERVAL, run_customer_imports)


class Worker:
    """The worker's loop; run it in an app context."""

    def __init__(self, *, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._woken: set[int] = set()
        self._woken_lock = threading.Lock()
        self._watchers: dict[int, IdleWatcher] = {}
        self._next_runs: dict[str, float] = {}

    def run(self, *, once: bool = False,
            report: Callable[[PollResult], None] = lambda _result: None) -> None:
        """Tick every ``interval`` seconds until stopped (``once``: one tick over every active
        mailbox); ``report`` hears of each poll."""
        with stop_on_signals(self.stop):
            try:
                while not self.stopping.is_set():
                    for result in self.tick(every=once):
                        report(result)
                    if once:
                        return
                    self._watch_idle_mailboxes()
                    self._wake.wait(self.interval)
                    self._wake.clear()
            finally:
                self._stop_watchers()

    def tick(self, *, every: bool = False) -> list[PollResult]:
        """Poll the due mailboxes (``every``: all the active ones), then send the due mail."""
        results = []
        due = _guarded("reading the due mailboxes", partial(self._to_poll, every))
        for mailbox_id in due or []:
            if self.stopping.is_set():
                break
            results.append(self._poll(mailbox_id))
        _guarded("sending the outbox", send_outbox)
        self._run_due_jobs()
        return results

    def _run_due_jobs(self) -> None:
        for job in periodic_jobs(current_app):
            if self.stopping.is_set():
                return
            if time.monotonic() >= self._next_runs.get(job.name, 0.0):
                self._next_runs[job.name] = time.monotonic() + job.every
                _guarded(job.name, partial(job.run, utcnow()))

    def stop(self) -> None:
        """Finish the message in hand, then return from ``run``."""
        self.stopping.set()
        self._wake.set()

    def wake(self, mailbox_id: int) -> None:
        """Poll this mailbox at the next tick, now (its IDLE watcher saw news)."""
        with self._woken_lock:
            self._woken.add(mailbox_id)
        self._wake.set()

    def _poll(self, mailbox_id: int) -> PollResult:
        result = _guarded(f"polling mailbox {mailbox_id}",
                          partial(imap.poll, mailbox_id, self.stopping.is_set))
        return result or PollResult(mailbox_id, error="failed: see the worker's log")

    def _to_poll(self, every: bool) -> list[int]:
        with self._woken_lock:
            woken, self._woken = self._woken, set()
        with unit_of_work() as uow:
            active = mailboxes.active_mailbox_ids(uow.session)
            due = set(active if every else mailboxes.due_mailboxes(uow.session, utcnow()))
        wanted = due | woken
        return [mailbox_id for mailbox_id in active if mailbox_id in wanted]

    def _watch_idle_mailboxes(self) -> None:
        """One watcher per active mailbox asking for IDLE, on its current settings."""
        wanted = _guarded("reading the IDLE mailboxes", _idle_settings)
        if wanted is None:
            return
        for mailbox_id, watcher in list(self._watchers.items()):
            if wanted.get(mailbox_id) != watcher.settings:
                watcher.stop()
                del self._watchers[mailbox_id]
        for mailbox_id, settings in wanted.items():
            if mailbox_id not in self._watchers:
                watcher = IdleWatcher(settings, partial(self.wake, mailbox_id))
                self._watchers[mailbox_id] = watcher
                watcher.start()

    def _stop_watchers(self) -> None:
        watchers, self._watchers = list(self._watchers.values()), {}
        for watcher in watchers:
            watcher.stop()
        for watcher in watchers:
            watcher.join(timeout=5)


class IdleWatcher(threading.Thread):
    """Holds an IDLE session on one mailbox and calls ``on_news`` when mail arrives."""

    def __init__(self, settings: ImapSettings, on_news: Callable[[], None]) -> None:
        super().__init__(name=f"idle {settings.username}", daemon=True)
        self.settings = settings
        self._on_news = on_news
        self._stopping = threading.Event()
        self.watching = threading.Event()  # set once the IDLE session is open
        self._source: ImapSource | None = None

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch()
            except Exception as exc:  # whatever it is, polling goes on; try again later
                if not self._stopping.is_set():
                    log.warning("IDLE on %s stopped (%s); polling goes on",
                                self.settings.username, _message(exc))
                    self._stopping.wait(IDLE_RETRY)

    def stop(self) -> None:
        self._stopping.set()
        if self._source is not None:
            self._source.interrupt()

    def _watch(self) -> None:
        with ImapSource(self.settings) as source:
            self._source = source
            if not source.supports_idle():
                log.info("%s does not support IDLE: polling only", self.settings.host)
                self._stopping.set()
                return
            self.watching.set()
            while not self._stopping.is_set():
                if source.wait_for_news(IDLE_ROUND):
                    self._on_news()


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call ``stop`` instead of killing the process (main thread only;
    the previous handlers come back afterwards)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, lambda _n, _f: stop()) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _idle_settings() -> dict[int, ImapSettings]:
    """The settings of the active mailboxes that use IDLE (an unreadable password: none)."""
    with unit_of_work() as uow:
        found = uow.session.scalars(select(Mailbox).where(Mailbox.active, Mailbox.use_idle))
        settings = {}
        for mailbox in found:
            try:
                settings[mailbox.id] = ImapSettings.of(mailbox)
            except DomainError:
                continue  # the poll records the error on the mailbox
        return settings


def _guarded(what: str, call: Callable[[], T]) -> T | None:
    """The call's result; None when it failed (logged): the worker keeps going."""
    try:
        return call()
    except Exception:
        log.exception("%s failed; the worker goes on", what)
        return None


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
