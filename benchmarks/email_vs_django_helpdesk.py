"""Comptoir's IMAP intake against django-helpdesk's ``get_email`` on the same mailbox:
messages per second, and what each lost, doubled, misthreaded or mangled.

One mailbox of ``--messages`` messages (1,000 by default) is built in memory, then
delivered twice to a private Dovecot (tests/dovecot.py), one account per tool:

- copies of the shared email corpus (the inputs of benchmarks/email_corpus.py: real
  messages, bounces and auto-replies among them), each with a Message-ID of its own so
  that every message of the mailbox can be traced (a leading mbox ``From `` line, which no
  delivered message has, is dropped);
- new customer mails in French, and replies carrying In-Reply-To and References to an
  earlier message of the mailbox (a generated one or a corpus person's mail), from that
  thread's customer, quoting it;
- the first messages open threads answered later by a reply with no reply headers, only
  the ticket's subject token of each tool (``[support-N]`` for django-helpdesk,
  ``[#<token>]`` for Comptoir): both number tickets from 1 in a fresh database, and these
  threads are opened first;
- every generated message is accented French in one of six charset and transfer-encoding
  pairs, its subject and sender's name as RFC 2047 encoded words.

Then, in one run: (a) django-helpdesk 2.6.1's ``get_email`` on a minimal Django project
(settings in a temporary folder, a Queue polling the first account over IMAP, a fresh
PostgreSQL database), timed; (b) ``comptoir worker --once`` on the second account and
another fresh PostgreSQL database, timed. A ``get_email`` run that stops on a message never
gets past it (the message stays on the server, the next run stops on it again): the
benchmark deletes that message from the server, as an administrator would, and runs the
command again, the runs' times added up. Each command is run once more on the emptied (or
already read) mailbox to time its start-up and an empty poll. Each tool's database is then
read back:

- lost: a message of the mailbox with no record (django-helpdesk: no FollowUp with its
  Message-ID; Comptoir: no ``inbound_emails`` row);
- duplicated: a message recorded more than once;
- misthreaded: a reply not in its thread's ticket, or a new message put in a ticket an
  earlier thread opened;
- charset errors: a generated message whose stored text (and its thread's title, for the
  first one) lacks its accented sentence as sent.

django-helpdesk is installed on first use in a virtualenv of its own, never in Comptoir's:

    python3.11 -m venv /tmp/djhd-venv
    /tmp/djhd-venv/bin/pip install 'django-helpdesk==2.6.1' 'psycopg[binary]'

    .venv/bin/python -m benchmarks.email_vs_django_helpdesk [--messages 1000] [--write]
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import quopri
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, formatdate
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, select, text

from benchmarks.banking77_kb import SHARED_DATA_ENV, shared_data_dir
from benchmarks.common import header, load_note, write_section
from benchmarks.email_corpus import corpus_inputs
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import MailKind, UnparseableEmail, parse_email
from helpdesk.mail.threading import conversation_token
from helpdesk.migrate import migrated_app
from helpdesk.models import Conversation, InboundEmail, Message
from helpdesk.services import mailboxes
from tests.dovecot import (
    MISSING,
    Account,
    PrivateDovecot,
    dovecot_binary,
    mailbox_fields,
    private_dovecot,
)

MODULE = "benchmarks.email_vs_django_helpdesk"
SECTION = "email-vs-django-helpdesk"
TARGET_RATIO = 3.0
SEED = 6
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
SECRET_KEY = "email-benchmark"  # noqa: S105 -- the throw-away app's
COMPTOIR = Path(sys.executable).with_name("comptoir")
DJHD_VENV = Path(tempfile.gettempdir()) / "djhd-venv"
DJHD_PACKAGES = ("django-helpdesk==2.6.1", "psycopg[binary]")
RUN_TIMEOUT = 3600.0
MAX_RUNS = 100  # get_email runs, each after deleting the message that stopped the last
DOMAIN = "bench.example"
SUPPORT = "support@example.com"
FIRST_DATE = 1_780_000_000
# The mailbox's mix, after the token threads: corpus copies, new threads, replies.
CORPUS_SHARE, STARTER_SHARE = 0.45, 0.15
ENCODINGS = [("utf-8", "quoted-printable"), ("utf-8", "base64"), ("utf-8", "8bit"),
             ("iso-8859-1", "quoted-printable"), ("iso-8859-1", "8bit"),
             ("windows-1252", "8bit")]
# UTF-8 read as Latin-1, undecodable bytes, or a Python escape left in the text.
MOJIBAKE = re.compile(r"[\u00c3\u00c2\ufffd]|\\u[0-9a-f]{4}")
EXAMPLES = 5
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HOW = ("Each tool reads its own copy of the mailbox (two accounts of one private Dovecot on "
       "loopback) into a fresh PostgreSQL database of this machine; a time is the wall time "
       "of the command as a subprocess, start-up included. django-helpdesk's notifications "
       "go to Django's dummy mail backend, Comptoir's acknowledgements wait in its outbox (no "
       "SMTP server set): both render them, neither sends. Messages per second count the "
       "messages a tool recorded.")


# --- the mailbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    email: str


CUSTOMERS = [Person("Hélène Château", "helene.chateau@client.example"),
             Person("François Lefèvre", "francois.lefevre@client.example"),
             Person("Zoé Bérubé", "zoe.berube@client.example"),
             Person("Jérôme Façon", "jerome.facon@client.example"),
             Person("Anaïs Dupré", "anais.dupre@client.example"),
             Person("Noël Crépin", "noel.crepin@client.example"),
             Person("Maëlle Gaëtan", "maelle.gaetan@client.example"),
             Person("Loïc Ménard", "loic.menard@client.example"),
             Person("Cécile Marchand", "cecile.marchand@client.example"),
             Person("Benoît Lacôte", "benoit.lacote@client.example")]
SUBJECTS = ["Commande non reçue", "Colis abîmé à la livraison", "Double prélèvement",
            "Échange de taille", "Accès à mon compte impossible", "Réclamation sans réponse",
            "Adresse de livraison erronée", "Garantie de l'appareil", "Délai d'expédition",
            "Question sur la facture n° 2231"]
SENTENCES = [
    "Bonjour, ma commande n'est toujours pas arrivée ; pouvez-vous vérifier où elle en est ?",
    "Le colis reçu était abîmé, le carton déchiré : je souhaite être remboursée.",
    "J'ai été débité deux fois pour la même facture, merci de corriger l'erreur.",
    "La taille ne convient pas ; est-il possible d'échanger l'article contre un modèle plus "
    "grand ?",
    "Je n'arrive plus à me connecter à mon compte depuis la mise à jour de l'application.",
    "Où en est ma réclamation ? Ça fait déjà une semaine que j'attends une réponse.",
    "L'adresse de livraison est erronée : c'est 12 rue de la Gare à Besançon.",
    "Voilà la photo du reçu, comme demandé ; le numéro de série est au dos de l'appareil.",
    "Très déçue du délai : prévenez-moi dès que le colis sera expédié, s'il vous plaît.",
    "Le problème est réglé après la mise à jour, mais je garde le dossier ouvert à côté."]
BEYOND_LATIN1 = " Montant : 49,90 €, avec mes vœux."  # what iso-8859-1 cannot carry


@dataclass(frozen=True)
class Planned:
    """One message of the mailbox, and what a tool must make of it."""

    position: int
    kind: str  # corpus, starter, reply, token_reply
    raw: bytes
    message_id: str  # without angle brackets
    root: int  # position of the message that opened its thread (its own when it opens one)
    sender: Person | None  # who replies in its thread (None: nobody replies to it)
    subject: str
    thread_ids: tuple[str, ...]  # the thread's Message-IDs up to this one, oldest first
    sentence: str = ""  # the accented text it must keep ("" for corpus copies)
    encoding: str = ""
    source: str = ""  # the corpus file of a copy

    @property
    def reply(self) -> bool:
        return self.root != self.position


@dataclass(frozen=True)
class CorpusMessage:
    name: str
    raw: bytes
    sender: Person | None  # set for a person's mail (it gets replies), None otherwise
    subject: str


def corpus_messages(emails: Path) -> list[CorpusMessage]:
    """The corpus inputs, each read once by Comptoir's parser to know who could reply."""
    return [CorpusMessage(item.reference, without_envelope(item.raw), *_replier(item.raw))
            for item in corpus_inputs(emails)]


def _replier(raw: bytes) -> tuple[Person | None, str]:
    """Who answers in the thread a corpus message opens: its sender, if it is a person's
    mail from a real address (a fixture's ``xxxxx@xxxxx`` gets no replies)."""
    try:
        parsed = parse_email(raw)
    except UnparseableEmail:
        return None, ""
    sender = parsed.sender
    if parsed.kind != MailKind.NORMAL or sender is None or not ADDRESS.match(sender.email):
        return None, parsed.subject
    return Person(sender.name, sender.email), parsed.subject


class MailboxPlan:
    """Builds the mailbox in order, one message at a time (a fixed random seed)."""

    def __init__(self, count: int, corpus: list[CorpusMessage],
                 token: Callable[[int], str]) -> None:
        self.count, self.corpus, self.token = count, corpus, token
        self.rng = random.Random(SEED)  # noqa: S311 -- a repeatable mailbox, no secret
        self.messages: list[Planned] = []
        self.repliable: list[Planned] = []  # those with a sender: a person's mail
        self.copies = itertools.count()  # corpus copies so far: each input in turn
        self.threads = max(1, count // 100)  # answered by subject token only
        later = range(count // 2, count, max(1, (count - count // 2) // self.threads))
        self.token_slots = dict(zip(later, range(self.threads), strict=False))

    def build(self) -> list[Planned]:
        while len(self.messages) < self.count:
            message = self._starter() if self._position < self.threads else self._next()
            self.messages.append(message)
            if message.sender is not None:
                self.repliable.append(message)
        return self.messages

    def _next(self) -> Planned:
        slot = self.token_slots.get(self._position)
        if slot is not None:
            return self._token_reply(self.messages[slot], ticket=slot + 1)
        draw = self.rng.random()
        if draw < CORPUS_SHARE:
            return self._corpus_copy()
        if draw < CORPUS_SHARE + STARTER_SHARE:
            return self._starter()
        return self._reply(self.rng.choice(self.repliable))

    @property
    def _position(self) -> int:
        return len(self.messages)

    def _corpus_copy(self) -> Planned:
        source = self.corpus[next(self.copies) % len(self.corpus)]
        message_id = f"bench-{self._position:05d}@{DOMAIN}"
        return Planned(self._position, "corpus", with_message_id(source.raw, message_id),
                       message_id, self._position, source.sender, source.subject,
                       (message_id,), source=source.name)

    def _starter(self) -> Planned:
        return self._generated("starter", self.rng.choice(CUSTOMERS),
                               self.rng.choice(SUBJECTS), self._position, ())

    def _reply(self, parent: Planned) -> Planned:
        assert parent.sender is not None
        headers = [f"In-Reply-To: <{parent.message_id}>",
                   "References: " + " ".join(f"<{i}>" for i in parent.thread_ids[-10:])]
        return self._generated("reply", parent.sender, reply_subject(parent.subject),
                               parent.root, parent.thread_ids, headers, quoted(parent))

    def _token_reply(self, starter: Planned, ticket: int) -> Planned:
        """No reply headers: only each tool's ticket token in the subject."""
        assert starter.sender is not None
        subject = (f"{reply_subject(starter.subject)} [support-{ticket}] "
                   f"[#{self.token(ticket)}]")
        return self._generated("token_reply", starter.sender, subject, starter.position,
                               starter.thread_ids)

    def _generated(self, kind: str, sender: Person, subject: str, root: int,
                   thread: tuple[str, ...], headers: Sequence[str] = (),
                   quote: str = "") -> Planned:
        """An accented French text/plain message, in the next charset and transfer
        encoding of the rotation."""
        position = self._position
        charset, transfer = ENCODINGS[position % len(ENCODINGS)]
        sentence = f"{self.rng.choice(SENTENCES)} (dossier {position})"
        if charset != "iso-8859-1":
            sentence += BEYOND_LATIN1
        message_id = f"bench-{position:05d}@{DOMAIN}"
        name_charset = header_charset(sender.name, charset)
        head = [f"From: {formataddr((sender.name, sender.email), charset=name_charset)}",
                f"To: Support <{SUPPORT}>", f"Subject: {encoded_words(subject, charset)}",
                f"Date: {formatdate(FIRST_DATE + 60 * position)}",
                f"Message-ID: <{message_id}>", *headers]
        raw = generated_message(head, f"{sentence}\n\n{quote}" if quote else sentence,
                                charset, transfer)
        return Planned(position, kind, raw, message_id, root, sender, subject,
                       (*thread, message_id), sentence, f"{charset} {transfer}")


def generated_message(head: list[str], body: str, charset: str, transfer: str) -> bytes:
    """A text/plain message: ``head``'s header lines, ``body`` in ``charset`` and
    ``transfer``, CRLF line ends."""
    lines = [*head, "MIME-Version: 1.0", f"Content-Type: text/plain; charset={charset}",
             f"Content-Transfer-Encoding: {transfer}"]
    encoded = body.encode(charset)
    if transfer == "quoted-printable":
        encoded = quopri.encodestring(encoded)
    elif transfer == "base64":
        encoded = base64.encodebytes(encoded)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + encoded.replace(b"\n", b"\r\n")


def encoded_words(value: str, charset: str) -> str:
    if value.isascii():
        return value
    return Header(value, header_charset(value, charset)).encode(linesep="\r\n")


def header_charset(value: str, charset: str) -> str:
    """The message's charset, or UTF-8 for what it cannot carry (a corpus subject)."""
    try:
        value.encode(charset)
    except UnicodeEncodeError:
        return "utf-8"
    return charset


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def quoted(parent: Planned) -> str:
    """The attribution line and the quoted parent, as a mail client writes them."""
    # In the reply's own charset, which may be Latin-1: the address, not a corpus name.
    who = parent.sender.email if parent.sender else "vous"
    quote = parent.sentence.removesuffix(BEYOND_LATIN1) or "(le message précédent)"
    return f"Le {formatdate(FIRST_DATE + 60 * parent.position)}, {who} a écrit :\n> {quote}\n"


HEADER_END = re.compile(rb"(\r?\n)\r?\n")
MESSAGE_ID_LINES = re.compile(rb"^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*",
                              re.IGNORECASE | re.MULTILINE)


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """``raw`` with ``message_id`` as its only Message-ID (its first header)."""
    end = HEADER_END.search(raw)
    split = end.end(1) if end else len(raw)
    head = MESSAGE_ID_LINES.sub(b"", raw[:split])
    newline = b"\r\n" if head.endswith(b"\r\n") else b"\n"
    return f"Message-ID: <{message_id}>".encode("ascii") + newline + head + raw[split:]


def without_envelope(raw: bytes) -> bytes:
    """Without a leading mbox ``From `` line (a delivered message has none)."""
    return raw.split(b"\n", 1)[1] if raw.startswith(b"From ") else raw


# --- what each tool recorded ----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What a tool kept of one message: its ticket, its text, the ticket's title."""

    ticket: int | None
    text: str
    title: str
    copies: int = 1
    note: str = ""  # why it has no ticket (Comptoir's outcome and reason)


@dataclass
class Run:
    name: str
    tool: str  # the name, its version and the command
    seconds: float  # the command, start to end
    idle_seconds: float  # the same command again on the same mailbox: start-up, empty poll
    records: dict[str, Record]
    notes: list[str] = field(default_factory=list)
    runs: int = 1  # times the command was run to take the whole mailbox


def normalised_id(value: str | None) -> str:
    return (value or "").strip().strip("<>").strip()


def timed_command(command: list[str], env: dict[str, str], log: Path,
                  cwd: Path | None = None) -> float:
    """Run ``command`` in ``cwd`` (its output appended to ``log``); the seconds it took."""
    with log.open("a") as output:
        output.write(f"\n$ {' '.join(command)}\n")
        output.flush()
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd,  # noqa: S603 -- our own
                              stdout=output, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT,
                              check=False)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n"
                         f"{log.read_text()[-3000:]}")
    return seconds


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database's name, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- django-helpdesk ------------------------------------------------------------------------


DJANGO_SETTINGS = '''\
"""A minimal Django project running django-helpdesk (written by the benchmark)."""
import json
from pathlib import Path

_BENCH = json.loads(Path(__file__).with_name("bench.json").read_text())
SECRET_KEY = "benchmark"
DEBUG = False
USE_TZ = True
SITE_ID = 1
ROOT_URLCONF = "bench_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages",
                  "django.contrib.staticfiles", "django.contrib.sites",
                  "django.contrib.humanize", "rest_framework", "helpdesk"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": _BENCH["database"],
                         "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}}
MEDIA_ROOT = _BENCH["media"]
STATIC_URL = "/static/"
# Notifications are rendered and handed to a backend that sends nothing (Comptoir's
# acknowledgements wait in its outbox, unsent, the same way).
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
HELPDESK_TEAMS_MODE_ENABLED = False  # no pinax-teams
'''
# The notifications link to the tickets: the URLs must resolve.
DJANGO_URLS = '''\
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
'''
QUEUE_SETUP = '''
import os
from helpdesk.models import Queue
Queue.objects.create(
    title="Support", slug="support", email_address="support@example.com",
    allow_email_submission=True, email_box_type="imap", email_box_ssl=False,
    email_box_host=os.environ["BENCH_IMAP_HOST"], email_box_port=int(os.environ["BENCH_IMAP_PORT"]),
    email_box_user=os.environ["BENCH_IMAP_USER"], email_box_pass=os.environ["BENCH_IMAP_PASSWORD"],
    email_box_imap_folder="INBOX", email_box_interval=0)
'''
FOLLOWUPS_EXPORT = '''
import json, os
from helpdesk.models import FollowUp
rows = [{"message_id": f.message_id, "ticket": f.ticket_id, "text": f.comment or "",
         "title": f.ticket.title} for f in FollowUp.objects.select_related("ticket").order_by("id")]
with open(os.environ["BENCH_EXPORT"], "w", encoding="utf-8") as out:
    json.dump(rows, out)
'''
VERSIONS = ('import importlib.metadata as m; '
            'print(m.version("django-helpdesk"), m.version("Django"))')


def djhd_python() -> Path:
    """The django-helpdesk virtualenv's python, the virtualenv made on first use."""
    python = DJHD_VENV / "bin" / "python"
    if python.exists():
        return python
    base = shutil.which("python3.11")
    if base is None:
        raise SystemExit("python3.11 is needed to make django-helpdesk's virtualenv")
    for command in ([base, "-m", "venv", str(DJHD_VENV)],
                    [str(python), "-m", "pip", "install", "--quiet", *DJHD_PACKAGES]):
        done = subprocess.run(command, capture_output=True, text=True,  # noqa: S603
                              check=False)
        if done.returncode != 0:
            raise SystemExit(f"django-helpdesk could not be installed: {' '.join(command)}:\n"
                             f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return python


class DjangoProject:
    """django-helpdesk in a temporary folder, on its own database."""

    def __init__(self, python: Path, folder: Path, database: str) -> None:
        self.python, self.folder = python, folder
        folder.mkdir()
        (folder / "bench_settings.py").write_text(DJANGO_SETTINGS)
        (folder / "bench_urls.py").write_text(DJANGO_URLS)
        (folder / "bench.json").write_text(json.dumps(
            {"database": database, "media": str(folder / "media")}))
        self.log = folder / "django.log"

    def version(self) -> str:
        done = subprocess.run([str(self.python), "-c", VERSIONS],  # noqa: S603 -- our own
                              capture_output=True, text=True, check=True)
        helpdesk_version, django_version = done.stdout.split()
        return f"django-helpdesk {helpdesk_version} (Django {django_version})"

    def manage(self, *args: str, env: dict[str, str] | None = None) -> float:
        """One ``django-admin`` command on the project; the seconds it took. It runs in the
        project's folder: from Comptoir's, ``helpdesk`` would be Comptoir's package."""
        command = [str(self.python), "-m", "django", *args, "--settings", "bench_settings",
                   "--pythonpath", str(self.folder)]
        return timed_command(command, {**os.environ, **(env or {})}, self.log, self.folder)

    def followups(self) -> list[dict[str, object]]:
        export = self.folder / "followups.json"
        self.manage("shell", "-c", FOLLOWUPS_EXPORT, env={"BENCH_EXPORT": str(export)})
        return json.loads(export.read_text("utf-8"))


def run_django_helpdesk(python: Path, folder: Path, database: str, account: Account,
                        plan: list[Planned]) -> Run:
    """Migrate, add the IMAP queue, then ``get_email`` until the mailbox is done, timed; its
    FollowUps read back."""
    project = DjangoProject(python, folder, database)
    project.manage("migrate", "--verbosity", "0")
    project.manage("shell", "-c", QUEUE_SETUP, env={
        "BENCH_IMAP_HOST": account.host, "BENCH_IMAP_PORT": str(account.port),
        "BENCH_IMAP_USER": account.username, "BENCH_IMAP_PASSWORD": account.password})
    ingest = ingest_whole_mailbox(project, account, plan)
    records = djhd_records(project.followups())
    left = len(server_uids(account, "NOT", "DELETED"))
    idle = project.manage("get_email")
    notes = [*ingest.notes(), f"{left} message(s) left on the IMAP server at the end"]
    return Run("django-helpdesk", f"{project.version()}, `get_email`", ingest.seconds, idle,
               records, notes, ingest.runs)


@dataclass
class Ingest:
    """``get_email`` over the whole mailbox: its runs, and the messages that stopped them."""

    seconds: float = 0.0
    runs: int = 0
    first_run_took: int | None = None  # messages taken before the first run stopped
    stops: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        if self.first_run_took is None:
            return [f"`get_email` took the mailbox in {self.runs} run"]
        listed = "; ".join(self.stops)
        return [f"the first `get_email` run stopped after taking {self.first_run_took} "
                "messages, and each later run stops on the same message (it stays on the "
                "server): to time the whole mailbox, the benchmark deleted each message that "
                "stopped a run (the first one not taken after the last one taken) and ran "
                f"`get_email` again, {self.runs} runs in all, their times added up. Deleted: "
                f"{listed}"]


def ingest_whole_mailbox(project: DjangoProject, account: Account,
                         plan: list[Planned]) -> Ingest:
    """``get_email`` again and again, each message that stops it deleted from the server (as
    an administrator would), until a run goes through."""
    ingest = Ingest()
    while ingest.runs < MAX_RUNS:
        before = project.log.stat().st_size
        ingest.seconds += project.manage("get_email", "--debug_to_stdout")
        ingest.runs += 1
        errors = failures(project.log.read_bytes()[before:].decode("utf-8", "replace"))
        if not errors:
            return ingest
        taken = server_uids(account, "DELETED")  # flagged, not yet expunged: it stopped
        stopper = next((uid for uid in server_uids(account, "NOT", "DELETED")
                        if uid > max(taken, default=0)), None)
        if stopper is None:
            raise SystemExit(f"get_email stopped before any message: {errors[0]}")
        if ingest.first_run_took is None:
            ingest.first_run_took = len(taken)
        delete_message(account, stopper)
        ingest.stops.append(f"{_named(plan[stopper - 1])} ({errors[0]})")
    raise SystemExit(f"get_email still stopped after {MAX_RUNS} runs: {ingest.stops[-1]}")


def failures(output: str) -> list[str]:
    """The exception of each queue ``get_email --debug_to_stdout`` said it stopped."""
    found = []
    for block in output.split("Queue processing failed: ")[1:]:
        lines = [line for line in block.splitlines() if line.strip() and line[0] != " "]
        errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
        found.append(f"`{errors[-1] if errors else 'an unnamed error'}`")
    return list(dict.fromkeys(found))


def djhd_records(followups: list[dict[str, object]]) -> dict[str, Record]:
    """One record per Message-ID; ``copies`` counts the FollowUps bearing it."""
    copies = Counter(normalised_id(str(f["message_id"] or "")) for f in followups)
    return {normalised_id(str(f["message_id"] or "")): Record(
        int(f["ticket"]), str(f["text"]), str(f["title"]),
        copies[normalised_id(str(f["message_id"] or ""))]) for f in followups}


def server_uids(account: Account, *criteria: str) -> list[int]:
    """The UIDs of the account's INBOX that match the IMAP SEARCH ``criteria``, ascending
    (in this fresh folder, a message's UID is its position in the mailbox plus one)."""
    with account.session() as imap:
        imap.select("INBOX", readonly=True)
        _status, data = imap.uid("SEARCH", None, *criteria)
        return sorted(int(n) for n in (data[0] or b"").split())


def delete_message(account: Account, uid: int) -> None:
    with account.session() as imap:
        imap.select("INBOX")
        status, answer = imap.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
        assert status == "OK", answer


# --- Comptoir -------------------------------------------------------------------------------


def comptoir_app(database: str, folder: Path) -> AbstractContextManager[Flask]:
    """An app on the fresh database, migrated."""
    return migrated_app({"database_url": f"{POSTGRES}/{database}",
                         "instance_path": str(folder / "instance"), "secret_key": SECRET_KEY,
                         "log_level": "WARNING"})


def run_comptoir(app: Flask, folder: Path, account: Account) -> Run:
    """Add the mailbox, then ``comptoir worker --once`` timed; the intake read back."""
    with app.app_context(), unit_of_work() as uow:
        mailboxes.create_mailbox(uow, SYSTEM, password=account.password,
                                 **mailbox_fields(account))
    settings = app.config["COMPTOIR"]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    env = inherited | {"COMPTOIR_DATABASE_URL": settings.database_url,
                       "COMPTOIR_INSTANCE_PATH": settings.instance_path,
                       "COMPTOIR_SECRET_KEY": SECRET_KEY, "COMPTOIR_LOG_LEVEL": "WARNING"}
    command, log = [str(COMPTOIR), "worker", "--once"], folder / "comptoir.log"
    seconds = timed_command(command, env, log)
    records = comptoir_records(app)
    idle = timed_command(command, env, log)
    said = [line for line in log.read_text().splitlines() if line.startswith("mailbox ")]
    return Run("Comptoir", "Comptoir, `comptoir worker --once`", seconds, idle, records,
               [f"`comptoir worker --once` said, the first run then the second: "
                f"{'; '.join(said) or 'nothing'}"])


def comptoir_records(app: Flask) -> dict[str, Record]:
    """One record per ``inbound_emails`` row: its conversation, its message's text (and
    full text), the conversation's subject."""
    with app.app_context():
        session = db.session
        texts = {m.id: f"{m.body}\n{(m.meta or {}).get('full_text', '')}"
                 for m in session.scalars(select(Message))}
        made = Counter(m.client_id for m in session.scalars(select(Message)))
        subjects = dict(session.execute(select(Conversation.id, Conversation.subject)).all())
        return {row.rfc_message_id or row.dedup_key: Record(
            row.conversation_id, texts.get(row.message_id, ""),
            subjects.get(row.conversation_id, ""), max(1, made[f"email:{row.id}"]),
            f"{row.outcome.value if row.outcome else row.state.value}: {row.reason}")
            for row in session.scalars(select(InboundEmail))}


# --- judging --------------------------------------------------------------------------------


@dataclass
class Verdict:
    recorded: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    misthreaded: list[str] = field(default_factory=list)
    replies_judged: int = 0
    not_judged: list[str] = field(default_factory=list)
    accented: int = 0
    charset_errors: list[str] = field(default_factory=list)
    errors_by_encoding: Counter[str] = field(default_factory=Counter)
    tokens_predicted: bool = True


def judge(plan: list[Planned], records: dict[str, Record]) -> Verdict:
    """Each message of the mailbox against what the tool recorded."""
    verdict = Verdict()
    owners: dict[int, int] = {}  # ticket → the thread (root position) that opened it
    for message in plan:
        record = records.get(message.message_id)
        if record is None:
            verdict.lost.append(_named(message))
            continue
        verdict.recorded += 1
        if record.copies > 1:
            verdict.duplicated.append(f"{_named(message)}: {record.copies} records")
        _judge_thread(verdict, plan, records, message, record, owners)
        _judge_charset(verdict, message, record, owners)
    verdict.tokens_predicted = all(_ticket(records, plan[m.root]) == m.root + 1
                                   for m in plan if m.kind == "token_reply")
    return verdict


def _ticket(records: dict[str, Record], message: Planned) -> int | None:
    record = records.get(message.message_id)
    return record.ticket if record else None


def _judge_thread(verdict: Verdict, plan: list[Planned], records: dict[str, Record],
                  message: Planned, record: Record, owners: dict[int, int]) -> None:
    if record.ticket is not None:
        owners.setdefault(record.ticket, message.root)
    if not message.reply:
        if record.ticket is not None and owners[record.ticket] != message.position:
            verdict.misthreaded.append(f"{_named(message)}: a new message put in ticket "
                                       f"{record.ticket}, opened by message "
                                       f"{owners[record.ticket]}")
        return
    root = records.get(plan[message.root].message_id)
    if root is None or root.ticket is None:
        verdict.not_judged.append(f"{_named(message)}: its thread's first message has no "
                                  "ticket")
        return
    verdict.replies_judged += 1
    if record.ticket != root.ticket:
        verdict.misthreaded.append(f"{_named(message)}: in {record.ticket or record.note!r} "
                                   f"instead of ticket {root.ticket}")


def _judge_charset(verdict: Verdict, message: Planned, record: Record,
                   owners: dict[int, int]) -> None:
    if not message.sentence:
        return
    verdict.accented += 1
    stored = " ".join(record.text.split())
    wrong = message.sentence not in stored or bool(MOJIBAKE.search(stored))
    opened = record.ticket is not None and owners.get(record.ticket) == message.position
    if not message.reply and opened and message.subject not in record.title:
        wrong = True
    if wrong:
        verdict.errors_by_encoding[message.encoding] += 1
        verdict.charset_errors.append(f"{_named(message)} ({message.encoding}): "
                                      f"{_excerpt(record, message)}")


def _excerpt(record: Record, message: Planned) -> str:
    """Where the stored text goes wrong (from 30 characters before the first mojibake)."""
    found = MOJIBAKE.search(record.text)
    start = max(0, found.start() - 30) if found else 0
    title = f"title “{record.title[:60]}”, " if not message.reply else ""
    return f"{title}text “{' '.join(record.text[start:start + 80].split())}”"


def _named(message: Planned) -> str:
    what = message.source or message.kind
    return f"message {message.position} ({what})"


# --- the report -----------------------------------------------------------------------------


def composition(plan: list[Planned]) -> str:
    kinds = Counter(m.kind for m in plan)
    replies_to_corpus = sum(m.kind == "reply" and plan[m.root].kind == "corpus" for m in plan)
    corpus_files = len({m.source for m in plan if m.kind == "corpus"})
    return (f"The mailbox: {len(plan)} messages: {kinds['corpus']} copies of the {corpus_files} "
            f"corpus inputs, {kinds['starter']} new French customer mails, {kinds['reply']} "
            f"replies by In-Reply-To/References ({replies_to_corpus} of them to corpus "
            f"messages), {kinds['token_reply']} replies by subject token only. Generated "
            "messages rotate through " + ", ".join(f"{c} {t}" for c, t in ENCODINGS) + ".")


def rate(count: int, seconds: float) -> float:
    """Messages per second (0 when the time is not positive: not measurable)."""
    return count / seconds if seconds > 0 else 0.0


def throughput(run: Run, verdict: Verdict) -> float:
    """Messages recorded per second of the command's runs."""
    return rate(verdict.recorded, run.seconds)


def work_throughput(run: Run, verdict: Verdict) -> float:
    """The same without each run's start-up and empty poll."""
    return rate(verdict.recorded, run.seconds - run.runs * run.idle_seconds)


def figures_table(plan: list[Planned], runs: list[Run], verdicts: list[Verdict]) -> str:
    count = len(plan)
    rows = [("Wall time of the command", lambda r, v: f"{r.seconds:.1f} s" + (
                f" ({r.runs} runs)" if r.runs > 1 else "")),
            ("**Messages recorded per second**",
             lambda r, v: f"**{throughput(r, v):.1f}**"),
            ("The command again, nothing new (start-up, an empty poll)",
             lambda r, v: f"{r.idle_seconds:.1f} s"),
            ("Messages per second without that start-up (each run's)",
             lambda r, v: f"{work_throughput(r, v):.1f}"),
            ("Messages recorded", lambda r, v: f"{v.recorded} / {count}"),
            ("Lost", lambda r, v: str(len(v.lost))),
            ("Duplicated", lambda r, v: str(len(v.duplicated))),
            ("Misthreaded", lambda r, v: f"{len(v.misthreaded)} ({v.replies_judged} replies "
                                         "judged)"),
            ("Replies not judged (their thread's first message has no ticket)",
             lambda r, v: str(len(v.not_judged))),
            ("Charset errors", lambda r, v: f"{len(v.charset_errors)} / {v.accented} "
                                            "accented messages")]
    head = "| | " + " | ".join(r.tool for r in runs) + " |\n| --- |" + " ---: |" * len(runs)
    body = "\n".join(f"| {label} | " + " | ".join(cell(r, v) for r, v in zip(
        runs, verdicts, strict=True)) + " |" for label, cell in rows)
    return f"{head}\n{body}"


def encodings_table(plan: list[Planned], runs: list[Run], verdicts: list[Verdict]) -> str:
    sent = Counter(m.encoding for m in plan if m.sentence)
    head = ("| Charset, transfer encoding | Messages | " + " | ".join(
        f"{r.name}: errors" for r in runs) + " |\n| --- | ---: |" + " ---: |" * len(runs))
    body = "\n".join(f"| {encoding} | {n} | " + " | ".join(
        str(v.errors_by_encoding[encoding]) for v in verdicts) + " |"
        for encoding, n in sent.items())
    return f"{head}\n{body}"


def findings(runs: list[Run], verdicts: list[Verdict]) -> str:
    """The first few messages of each failure, per tool, and the runs' notes."""
    lines = []
    for run, verdict in zip(runs, verdicts, strict=True):
        for what, items in (("lost", verdict.lost), ("duplicated", verdict.duplicated),
                            ("misthreaded", verdict.misthreaded),
                            ("not judged", verdict.not_judged),
                            ("charset errors", verdict.charset_errors)):
            if items:
                shown = "; ".join(items[:EXAMPLES])
                more = f" (and {len(items) - EXAMPLES} more)" if len(items) > EXAMPLES else ""
                lines.append(f"- {run.name}, {what}: {shown}{more}")
        if not verdict.tokens_predicted:
            lines.append(f"- {run.name}: the threads opened first did not get tickets 1, "
                         "2, …: their token replies name other tickets")
        lines += [f"- {run.name}: {note}" for note in run.notes]
    return "\n".join(lines) or "- none"


def conclusion(runs: list[Run], verdicts: list[Verdict],
               judged: list[list[Verdict]]) -> str:
    """The median round's figures against the target; no round may lose or misthread."""
    speeds = [throughput(r, v) for r, v in zip(runs, verdicts, strict=True)]
    work = [work_throughput(r, v) for r, v in zip(runs, verdicts, strict=True)]
    work_ratio = f"{work[1] / work[0]:.2f}x" if min(work) > 0 else "not measurable"
    faults = sum(len(v[1].lost) + len(v[1].misthreaded) for v in judged)
    met = ratio(runs, verdicts) >= TARGET_RATIO and not faults
    return (f"**Comptoir {speeds[1]:.1f} messages/s, django-helpdesk {speeds[0]:.1f} "
            f"messages/s: ratio {ratio(runs, verdicts):.2f}x** (without the start-up: "
            f"{work_ratio}); Comptoir lost or misthreaded {faults} messages over "
            f"{len(judged)} rounds. Target: Comptoir >= {TARGET_RATIO:g}x django-helpdesk's "
            f"throughput with zero misthreaded and zero lost messages: "
            f"{'met' if met else 'MISSED'}.")


def benchmark(count: int, rounds: int) -> str:
    """Build the mailbox, run both tools ``rounds`` times, judge them; the report's
    Markdown, its figures those of the round with the median ratio."""
    binary = dovecot_binary()
    if binary is None:
        raise SystemExit(MISSING)
    emails = shared_data_dir() / "emails"
    if not emails.is_dir():
        raise SystemExit(f"no email corpora at {emails} (set {SHARED_DATA_ENV})")
    python = djhd_python()
    corpus = corpus_messages(emails)
    with tempfile.TemporaryDirectory(prefix="comptoir-vs-djhd-") as tmp, \
            private_dovecot(binary) as dovecot:
        plan = mailbox_plan(count, corpus, Path(tmp) / "plan")
        played = [one_round(python, Path(tmp) / f"round-{n}", dovecot, plan,
                            django_first=n % 2 == 1) for n in range(1, rounds + 1)]
    judged = [[judge(plan, run.records) for run in runs] for runs in played]
    ratios = [ratio(runs, verdicts) for runs, verdicts in zip(played, judged, strict=True)]
    median = sorted(range(rounds), key=ratios.__getitem__)[(rounds - 1) // 2]
    runs, verdicts = played[median], judged[median]
    return (f"{composition(plan)}\n\n{HOW}\n\n{rounds_table(played, judged, median)}\n\n"
            f"Figures of round {median + 1}, the median ratio:\n\n"
            f"{figures_table(plan, runs, verdicts)}\n\n"
            f"{conclusion(runs, verdicts, judged)}\n\nCharset errors by encoding:\n\n"
            f"{encodings_table(plan, runs, verdicts)}\n\nDetails:\n\n{findings(runs, verdicts)}\n")


def mailbox_plan(count: int, corpus: list[CorpusMessage], folder: Path) -> list[Planned]:
    """The mailbox, its token replies naming Comptoir's tickets (an app gives the tokens)."""
    with fresh_database("comptoir_plan") as database, comptoir_app(database, folder) as app, \
            app.app_context():
        return MailboxPlan(count, corpus, conversation_token).build()


def one_round(python: Path, folder: Path, dovecot: PrivateDovecot, plan: list[Planned], *,
              django_first: bool) -> list[Run]:
    """Both tools on their own copy of the mailbox and fresh databases, one after the
    other; the runs, django-helpdesk's first."""
    with fresh_database("comptoir_bench") as comptoir_db, \
            fresh_database("djhd_bench") as djhd_db, comptoir_app(comptoir_db, folder) as app:
        djhd_account, comptoir_account = dovecot.new_account(), dovecot.new_account()
        for account in (djhd_account, comptoir_account):
            account.append(m.raw for m in plan)
        tools = [lambda: run_django_helpdesk(python, folder / "django", djhd_db, djhd_account,
                                             plan),
                 lambda: run_comptoir(app, folder, comptoir_account)]
        order = tools if django_first else tools[::-1]
        runs = [tool() for tool in order]
    return runs if django_first else runs[::-1]


def ratio(runs: list[Run], verdicts: list[Verdict]) -> float:
    """Comptoir's messages per second over django-helpdesk's."""
    speeds = [throughput(r, v) for r, v in zip(runs, verdicts, strict=True)]
    return speeds[1] / speeds[0] if speeds[0] else float("inf")


def rounds_table(played: list[list[Run]], judged: list[list[Verdict]], median: int) -> str:
    rows = []
    for n, (runs, verdicts) in enumerate(zip(played, judged, strict=True)):
        first = "django-helpdesk" if n % 2 == 0 else "Comptoir"
        cells = " | ".join(f"{r.seconds:.1f} s, {throughput(r, v):.1f}/s"
                           for r, v in zip(runs, verdicts, strict=True))
        mark = " (median)" if n == median else ""
        rows.append(f"| {n + 1}{mark} | {first} | {cells} | {ratio(runs, verdicts):.2f}x |")
    return ("Rounds (each on a fresh copy of the mailbox and fresh databases; which tool ran "
            "first alternates):\n\n| Round | First | django-helpdesk | Comptoir | Ratio |\n"
            "| --- | --- | ---: | ---: | ---: |\n" + "\n".join(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000,
                        help="messages in the mailbox (default: 1000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times both tools run, alternating which goes first; the "
                             "median ratio is reported (default: 3)")
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.messages < 10:
        parser.error("--messages: at least 10")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    load = load_note()
    section = (f"### Email intake: Comptoir against django-helpdesk (issue 6)\n\n"
               f"{header(MODULE, load)}\n{benchmark(args.messages, args.rounds)}")
    print(section)
    if args.write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
