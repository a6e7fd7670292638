"""A private Dovecot IMAP server for tests (tests/dovecot-private.conf).

It runs from a temporary folder on a free loopback port, apart from any system Dovecot.
Each test takes an account of its own (``new_account``) and delivers its mail with IMAP
APPEND, as a mail server would. ``make test`` installs Dovecot; without it the tests
that need it are skipped.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# The configuration, @DIR@ and @PORT@ to fill in (its comments say how it runs as root).
RECIPE = Path(__file__).with_name("dovecot-private.conf")
NOBODY = 65534  # the recipe's mail_uid/mail_gid: Dovecot will not touch mail as root
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
PASSWORD = "secret"  # the test accounts'
MISSING = ("dovecot is not installed: `make test` installs it "
           "(apt-get install -y dovecot-imapd)")
ACCOUNTS = 500


def dovecot_binary() -> str | None:
    """The dovecot program (it lives in sbin, not always on a user's PATH)."""
    return shutil.which("dovecot", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


@dataclass(frozen=True)
class Account:
    """A mailbox user of the private server."""

    host: str
    port: int
    username: str
    password: str

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            imap.login(self.username, self.password)
        except imaplib.IMAP4.error:
            imap.shutdown()
            raise
        return imap

    def append(self, messages: Iterable[bytes], folder: str = "INBOX") -> None:
        """Deliver the messages, in order, to ``folder`` (created when missing)."""
        with self.session() as imap:
            imap.create(folder)  # answers NO when it exists: fine
            for raw in messages:
                status, answer = imap.append(folder, None, None, raw)
                assert status == "OK", answer

    def recreate(self, folder: str) -> None:
        """Delete ``folder`` and create it again: a new UIDVALIDITY, UIDs from 1 again."""
        with self.session() as imap:
            for command in (imap.delete, imap.create):
                status, answer = command(folder)
                assert status == "OK", answer

    def uid_validity(self, folder: str = "INBOX") -> int:
        with self.session() as imap:
            imap.select(folder, readonly=True)
            return int(imap.response("UIDVALIDITY")[1][0])

    @contextmanager
    def session(self) -> Iterator[imaplib.IMAP4]:
        imap = self.connect()
        try:
            yield imap
        finally:
            imap.logout()


class PrivateDovecot:
    """One Dovecot master process and its folder."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port, self.host = folder, port, "127.0.0.1"
        self._numbers = itertools.count(1)

    def new_account(self) -> Account:
        """An account no test used yet."""
        number = next(self._numbers)
        if number > ACCOUNTS:
            raise RuntimeError(f"the private Dovecot has only {ACCOUNTS} accounts")
        return Account(self.host, self.port, _username(number), PASSWORD)

    def start(self, binary: str) -> None:
        folder = self.folder
        folder.chmod(0o755)  # Dovecot's unprivileged processes must reach it
        for sub in ("run", "state", "mail", "home"):
            (folder / sub).mkdir()
        for sub in ("mail", "home"):
            os.chown(folder / sub, NOBODY, NOBODY)
        # All the accounts up front: Dovecot reads a changed passwd-file at most once a second.
        (folder / "users").write_text("".join(
            f"{name}:{{PLAIN}}{PASSWORD}\n"
            for name in ("support@example.com", *map(_username, range(1, ACCOUNTS + 1)))))
        config = RECIPE.read_text().replace("@DIR@", str(folder)).replace("@PORT@",
                                                                          str(self.port))
        (folder / "dovecot.conf").write_text(config)
        # Output to a file: the daemon keeps its standard streams, a pipe would never close.
        with (folder / "start.log").open("wb") as output:
            started = subprocess.run([binary, "-c", str(folder / "dovecot.conf")],
                                     stdout=output, stderr=output, timeout=READY_TIMEOUT,
                                     check=False)
        if started.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {(folder / 'start.log').read_text()}")
        self._wait_until_ready()

    def stop(self) -> None:
        pid_file = self.folder / "run" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())
        os.kill(pid, 15)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                imaplib.IMAP4(self.host, self.port, timeout=5).logout()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Dovecot did not answer on port {self.port}:\n"
                                       f"{self.log()}") from None
                time.sleep(0.05)


def _username(number: int) -> str:
    return f"support{number}@example.com"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def private_dovecot(binary: str) -> Iterator[PrivateDovecot]:
    """A private Dovecot in a fresh temporary folder, stopped and removed afterwards (the
    benchmarks use it too)."""
    server = PrivateDovecot(Path(tempfile.mkdtemp(prefix="comptoir-dovecot-")),
                            free_port())
    try:
        server.start(binary)
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


def running_dovecot() -> Iterator[PrivateDovecot]:
    """Start a private Dovecot for the caller's scope and stop it after (a fixture body);
    skips when Dovecot is not installed."""
    binary = dovecot_binary()
    if binary is None:
        pytest.skip(MISSING)
    with private_dovecot(binary) as server:
        yield server


def mailbox_fields(account: Account, **settings: object) -> dict[str, object]:
    """What ``mailboxes.create_mailbox`` needs to poll ``account`` (the password apart)."""
    return {"name": "Support", "address": account.username, "imap_host": account.host,
            "imap_port": account.port, "imap_security": "none",
            "imap_username": account.username, **settings}
