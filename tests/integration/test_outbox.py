"""The outbox: what queues mail, what the worker's ``send_due`` does with it, against a real
SMTP server on loopback (aiosmtpd) and both database backends."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import intake
from helpdesk.mail.outbound import SendFailed, SmtpMailer
from helpdesk.models import (
    Channel,
    ConversationStatus,
    Customer,
    Identity,
    InboundSource,
    Mailbox,
    MailboxSecurity,
    Message,
    OutboundEmail,
    OutboundKind,
    OutboundState,
    Site,
)
from helpdesk.orm import clock_at, utcnow
from helpdesk.services import chat, conversations, outbox
from helpdesk.services.conversations import NewMessage
from helpdesk.services.email_intake import Source
from helpdesk.services.outbox import NO_SENDER
from tests.factories import raw_email
from tests.fakes import FakeMailer

SUPPORT = "Maison Lumière <support@shop.example>"
LOGIN, SECRET = "comptoir", "s3cret"


# --- an SMTP server on loopback -----------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps what it accepts; scripted refusals come first."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.data_replies: list[str] = []  # answers to DATA before accepting, in order
        self.refused: dict[str, str] = {}  # recipient → answer to RCPT

    async def handle_RCPT(self, _server, _session, envelope, address, _options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _sender, _recipients, message in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def running(inbox: Inbox, **options) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


@pytest.fixture
def smtp():
    """A plain SMTP server; ``smtp.inbox`` is what it received, ``smtp.mailer`` sends to it."""
    inbox = Inbox()
    controller = running(inbox)
    yield SmtpServer(inbox, SmtpMailer("127.0.0.1", controller.port, MailboxSecurity.NONE,
                                       timeout=10))
    controller.stop()


class SmtpServer:
    def __init__(self, inbox: Inbox, mailer: SmtpMailer) -> None:
        self.inbox, self.mailer = inbox, mailer


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (server context, client context)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, ssl.create_default_context(cafile=str(folder / "cert.pem"))


def authenticate(_server, _session, _envelope, _mechanism, data) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        LOGIN.encode(), SECRET.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


# --- the app and its mail -----------------------------------------------------------------


@pytest.fixture
def mail_app(app):
    """The app with a From address for mail that no mailbox sends."""
    app.config["COMPTOIR"] = replace(app.config["COMPTOIR"], mail_from=SUPPORT)
    return app


@pytest.fixture
def deliver(mail_app):
    def run(raw: bytes) -> intake.Outcome:
        with mail_app.app_context():
            return intake.ingest(raw, Source(InboundSource.CLI, reference="test.eml"))
    return run


@pytest.fixture
def agent(make):
    return make.user()


def reply(app, agent, conversation_id: int, body: str = "It left our warehouse yesterday.",
          **extra) -> Message:
    with app.app_context(), unit_of_work() as uow:
        return conversations.post_message(uow, conversation_id, NewMessage(
            body=body, author=Actor("agent", agent.id), **extra))


def set_status(app, agent, conversation_id: int, status: ConversationStatus) -> None:
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, Actor("agent", agent.id), conversation_id, status)


def send(app, mailer, now=None, limit: int = 20) -> outbox.SendReport:
    with app.app_context():
        return outbox.send_due(unit_of_work, mailer, now or utcnow(), limit)


def outgoing(app, kind: OutboundKind | None = None) -> list[OutboundEmail]:
    with app.app_context():
        query = select(OutboundEmail).order_by(OutboundEmail.id)
        if kind is not None:
            query = query.where(OutboundEmail.kind == kind)
        return list(db.session.scalars(query))


def message_meta(app, message_id: int) -> dict:
    with app.app_context():
        return db.session.get(Message, message_id).meta


# --- an agent's reply ---------------------------------------------------------------------


def test_an_agent_reply_reaches_the_customer_and_the_people_copied(
        mail_app, deliver, agent, smtp):
    first = deliver(raw_email(name="Ada", message_id="first@mail.example",
                              cc=["bob@example.com"]))
    message = reply(mail_app, agent, first.conversation_id)
    [mail] = outgoing(mail_app, OutboundKind.AGENT_REPLY)
    assert (mail.state, mail.to_address, mail.cc_addresses) == (
        OutboundState.QUEUED, "ada@example.com", ["bob@example.com"])
    assert message_meta(mail_app, message.id)["email"]["state"] == "queued"

    assert send(mail_app, smtp.mailer) == outbox.SendReport(sent=2)  # the reply, the ack
    [(sender, recipients, received)] = [r for r in smtp.inbox.received
                                        if r[2]["Message-ID"] == f"<{mail.rfc_message_id}>"]
    assert (sender, recipients) == ("support@shop.example", ["ada@example.com",
                                                             "bob@example.com"])
    assert received["From"] == SUPPORT
    assert received["In-Reply-To"] == "<first@mail.example>"
    assert received["References"].endswith("<first@mail.example>")
    assert received["Reply-To"].startswith(f"support+{first.conversation_id}-")
    assert received["Subject"].startswith("Re: Where is my parcel? [#")
    assert received["Auto-Submitted"] is None
    assert "It left our warehouse yesterday." in received.get_body(("plain",)).get_content()
    assert message_meta(mail_app, message.id)["email"] == {
        "outbound_id": mail.id, "state": "sent", "error": ""}
    assert send(mail_app, smtp.mailer) == outbox.SendReport()  # nothing is sent twice


def test_the_customers_answer_to_the_reply_threads_back(mail_app, deliver, agent, smtp):
    first = deliver(raw_email(message_id="first@mail.example"))
    reply(mail_app, agent, first.conversation_id)
    send(mail_app, smtp.mailer)
    [sent] = [m for m in smtp.inbox.messages if m["Auto-Submitted"] is None]
    answer = deliver(raw_email(subject=f"Re: {sent['Subject']}", to=sent["Reply-To"],
                               body="Thanks, it arrived!",
                               in_reply_to=sent["Message-ID"].strip("<>")))
    assert (answer.outcome, answer.conversation_id, answer.thread_rule) == (
        "appended", first.conversation_id, "in_reply_to")


def test_internal_notes_and_other_channels_send_nothing(mail_app, make, agent):
    email = make.conversation(channel=Channel.EMAIL)
    chat = make.conversation(channel=Channel.CHAT)
    reply(mail_app, agent, email.id, "Check the carrier", internal=True)
    reply(mail_app, agent, chat.id, "Hello from the chat")
    assert outgoing(mail_app) == []


def test_a_chat_visitor_who_left_an_address_gets_the_reply_by_email(mail_app, make, agent):
    site = make.site(language="fr", bot_enabled=False)
    visitor = chat.Visitor(site.id, chat.new_visitor_token())
    with mail_app.app_context(), unit_of_work() as uow:
        conversation_id = chat.start_chat(uow, uow.session.get(Site, site.id), visitor).id
        chat.leave_contact(uow, visitor, conversation_id, email="Visitor@Mail.example")
    reply(mail_app, agent, conversation_id, "Nous avons retrouvé votre commande.")
    [mail] = outgoing(mail_app)
    assert (mail.kind, mail.to_address, mail.state) == (
        OutboundKind.AGENT_REPLY, "visitor@mail.example", OutboundState.QUEUED)
    assert mail.text.startswith("Nous avons retrouvé votre commande.")
    assert "Référence : #" in mail.text  # the site's language


def test_the_mailbox_of_the_conversations_queue_signs_the_mail(mail_app, make, agent):
    queue = make.queue("Returns")
    with mail_app.app_context(), unit_of_work() as uow:
        uow.session.add(Mailbox(name="Returns desk", address="returns@shop.example",
                                imap_host="imap.shop.example", imap_username="returns",
                                queue_id=queue.id))
        uow.commit()
    conversation = make.conversation(queue_id=queue.id)
    reply(mail_app, agent, conversation.id)
    [mail] = outgoing(mail_app)
    assert (mail.from_name, mail.from_address) == ("Returns desk", "returns@shop.example")
    assert mail.reply_to.startswith(f"returns+{conversation.id}-")
    assert mail.rfc_message_id.endswith("@shop.example")


def test_without_a_sender_address_the_reply_fails_where_agents_see_it(
        app, make, agent, client, auth):
    conversation = make.conversation()
    message = reply(app, agent, conversation.id)
    [mail] = outgoing(app)
    assert (mail.state, mail.last_error) == (OutboundState.FAILED, NO_SENDER)
    assert message_meta(app, message.id)["email"]["state"] == "failed"
    auth.login(agent.email)
    page = client.get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "Email failed: no sender address" in page


# --- acknowledgements and surveys ---------------------------------------------------------


def test_a_new_email_conversation_is_acknowledged_once(mail_app, deliver, smtp):
    first = deliver(raw_email(name="Ada", message_id="first@mail.example"))
    deliver(raw_email(body="Any news?", in_reply_to="first@mail.example"))
    [ack] = outgoing(mail_app, OutboundKind.ACKNOWLEDGEMENT)
    assert (ack.conversation_id, ack.to_address, ack.auto_submitted) == (
        first.conversation_id, "ada@example.com", True)
    send(mail_app, smtp.mailer)
    [received] = smtp.inbox.messages
    assert received["Auto-Submitted"] == "auto-replied"
    assert received["Subject"].startswith("We received your request: Where is my parcel? [#")
    assert received["In-Reply-To"] == "<first@mail.example>"


def test_the_acknowledgement_speaks_the_customers_language(mail_app, make, deliver):
    customer = make.customer("Françoise", email="francoise@exemple.fr")
    with mail_app.app_context(), unit_of_work() as uow:
        uow.session.get(Customer, customer.id).language = "fr-FR"
        uow.commit()
    deliver(raw_email(sender="francoise@exemple.fr", subject="Colis"))
    [ack] = outgoing(mail_app)
    assert ack.subject.startswith("Nous avons bien reçu votre demande : Colis [#")
    assert ack.text.startswith("Bonjour Françoise,")


def test_conversations_not_opened_by_an_email_get_no_acknowledgement(mail_app, make):
    make.conversation(channel=Channel.EMAIL)
    assert outgoing(mail_app) == []


def test_automatic_mail_never_goes_to_a_bouncing_address(mail_app, make, deliver, agent):
    make.customer(email="ada@example.com")
    with mail_app.app_context(), unit_of_work() as uow:
        uow.session.scalar(select(Identity).where(
            Identity.value == "ada@example.com")).bouncing = True
        uow.commit()
    first = deliver(raw_email())
    set_status(mail_app, agent, first.conversation_id, ConversationStatus.SOLVED)
    assert outgoing(mail_app) == []


def test_a_solved_email_conversation_gets_one_survey(mail_app, deliver, agent):
    first = deliver(raw_email(message_id="first@mail.example"))
    set_status(mail_app, agent, first.conversation_id, ConversationStatus.SOLVED)
    set_status(mail_app, agent, first.conversation_id, ConversationStatus.OPEN)
    set_status(mail_app, agent, first.conversation_id, ConversationStatus.SOLVED)
    [survey] = outgoing(mail_app, OutboundKind.SOLVED_SURVEY)
    assert (survey.auto_submitted, survey.to_address) == (True, "ada@example.com")
    assert survey.subject.startswith("Solved: Where is my parcel? — how did we do? [#")


# --- mail loops ---------------------------------------------------------------------------


@pytest.mark.parametrize("threads_its_answers", [False, True])
def test_an_auto_responder_gets_no_more_acknowledgements_than_the_limit(
        mail_app, deliver, threads_its_answers):
    """A robot answering every mail with a mail that looks like a person's: each answer
    that opens a conversation would be acknowledged, which it would answer again…"""
    robot = "robot@elsewhere.example"
    deliver(raw_email(sender=robot, subject="Ticket 1 opened"))
    mailer = FakeMailer()
    for turn in range(2, 12):
        send(mail_app, mailer)
        last = mailer.messages[-1]
        deliver(raw_email(sender=robot, subject=f"Ticket {turn} opened",
                          in_reply_to=last["Message-ID"].strip("<>")
                          if threads_its_answers else None))
    acks = outgoing(mail_app, OutboundKind.ACKNOWLEDGEMENT)
    limit = mail_app.config["COMPTOIR"].ack_rate_limit_per_hour
    assert len(acks) == (1 if threads_its_answers else limit)
    with clock_at(utcnow() + timedelta(hours=1, minutes=1)):
        deliver(raw_email(sender=robot, subject="Ticket 99 opened"))
    assert len(outgoing(mail_app, OutboundKind.ACKNOWLEDGEMENT)) == len(acks) + 1


def test_one_batchs_acknowledgements_share_the_limit_and_each_threads(mail_app):
    robot, limit = "robot@elsewhere.example", mail_app.config["COMPTOIR"].ack_rate_limit_per_hour
    raws = [raw_email(sender=robot, subject=f"Ticket {n} opened", message_id=f"t{n}@robot.example")
            for n in range(limit + 2)]
    raws.append(raw_email(message_id="parcel@mail.example"))
    with mail_app.app_context():
        intake.process_batch([intake.store(raw, Source(InboundSource.IMAP, f"uid {n}"))
                              for n, raw in enumerate(raws)])
    acks = outgoing(mail_app, OutboundKind.ACKNOWLEDGEMENT)
    assert Counter(a.to_address for a in acks) == {robot: limit, "ada@example.com": 1}
    assert [a.in_reply_to for a in acks] == [
        *(f"t{n}@robot.example" for n in range(limit)), "parcel@mail.example"]
    assert len({a.conversation_id for a in acks}) == len(acks)


def test_when_the_batch_of_acknowledgements_fails_each_is_queued_alone(mail_app, monkeypatch):
    real = outbox._composed

    def composed(conversation, *rest, **options):
        if conversation.subject == "Broken":
            raise RuntimeError("the template exploded")
        return real(conversation, *rest, **options)
    monkeypatch.setattr(outbox, "_composed", composed)
    raws = [raw_email(sender=f"{name}@example.com", subject=subject)
            for name, subject in (("ada", "Parcel"), ("bob", "Broken"), ("cy", "Refund"))]
    with mail_app.app_context():
        intake.process_batch([intake.store(raw, Source(InboundSource.IMAP, f"uid {n}"))
                              for n, raw in enumerate(raws)])
    acks = outgoing(mail_app, OutboundKind.ACKNOWLEDGEMENT)
    assert [a.to_address for a in acks] == ["ada@example.com", "cy@example.com"]


# --- retries ------------------------------------------------------------------------------


def queued_reply(app, make, agent) -> OutboundEmail:
    reply(app, agent, make.conversation().id)
    [mail] = outgoing(app)
    return mail


def test_a_server_that_defers_gets_the_mail_after_a_minute(mail_app, make, agent, smtp):
    mail = queued_reply(mail_app, make, agent)
    smtp.inbox.data_replies.append("451 4.3.0 Try again later")
    now = utcnow()
    assert send(mail_app, smtp.mailer, now) == outbox.SendReport(retrying=1)
    [retrying] = outgoing(mail_app)
    assert (retrying.state, retrying.attempts, retrying.next_attempt_at) == (
        OutboundState.QUEUED, 1, now + timedelta(minutes=1))
    assert retrying.last_error == "451 4.3.0 Try again later"
    assert message_meta(mail_app, mail.message_id)["email"]["error"] == retrying.last_error
    assert send(mail_app, smtp.mailer, now + timedelta(seconds=59)) == outbox.SendReport()
    assert send(mail_app, smtp.mailer, now + timedelta(minutes=1)) == outbox.SendReport(sent=1)
    [sent] = outgoing(mail_app)
    assert (sent.state, sent.attempts, sent.last_error) == (OutboundState.SENT, 2, "")
    assert len(smtp.inbox.received) == 1


def test_retries_back_off_then_the_mail_fails_visibly(mail_app, make, agent):
    mail = queued_reply(mail_app, make, agent)
    mailer = FakeMailer(*(SendFailed(f"421 busy {i}") for i in range(10)))
    now, waits = utcnow(), []
    while (current := outgoing(mail_app)[0]).state == OutboundState.QUEUED:
        waits.append(current.next_attempt_at - now)
        now = current.next_attempt_at
        send(mail_app, mailer, now)
    assert [w.total_seconds() / 60 for w in waits[1:]] == [1, 5, 30, 120, 360]
    assert (current.state, current.attempts, current.last_error) == (
        OutboundState.FAILED, 6, "421 busy 5")
    assert message_meta(mail_app, mail.message_id)["email"] == {
        "outbound_id": mail.id, "state": "failed", "error": "421 busy 5"}


def test_a_recipient_the_server_refuses_for_good_fails_at_once(mail_app, make, agent, smtp):
    queued_reply(mail_app, make, agent)
    [mail] = outgoing(mail_app)
    smtp.inbox.refused[mail.to_address] = "550 5.1.1 No such user"
    assert send(mail_app, smtp.mailer) == outbox.SendReport(failed=1)
    [failed] = outgoing(mail_app)
    assert (failed.attempts, failed.last_error) == (
        1, f"{mail.to_address}: 550 5.1.1 No such user")


def test_an_unreachable_server_is_retried(mail_app, make, agent):
    queued_reply(mail_app, make, agent)
    closed = SmtpMailer("127.0.0.1", free_port(), MailboxSecurity.NONE, timeout=5)
    assert send(mail_app, closed) == outbox.SendReport(retrying=1)
    assert "ConnectionRefusedError" in outgoing(mail_app)[0].last_error


# --- TLS and login ------------------------------------------------------------------------


def test_starttls_with_a_login(mail_app, make, agent, certificate):
    server_context, client_context = certificate
    inbox = Inbox()
    controller = running(inbox, tls_context=server_context, require_starttls=True,
                         authenticator=authenticate, auth_required=True)
    try:
        queued_reply(mail_app, make, agent)
        mailer = SmtpMailer("127.0.0.1", controller.port, MailboxSecurity.STARTTLS, LOGIN,
                            SECRET, timeout=10, tls_context=client_context)
        assert send(mail_app, mailer) == outbox.SendReport(sent=1)
    finally:
        controller.stop()
    assert len(inbox.received) == 1


def test_implicit_tls_and_a_wrong_password(mail_app, make, agent, certificate):
    server_context, client_context = certificate
    inbox = Inbox()
    # aiosmtpd does not see the implicit TLS beneath it: offer AUTH without STARTTLS.
    controller = running(inbox, ssl_context=server_context, authenticator=authenticate,
                         auth_require_tls=False)
    try:
        queued_reply(mail_app, make, agent)
        mailer = SmtpMailer("127.0.0.1", controller.port, MailboxSecurity.TLS, LOGIN, "wrong",
                            timeout=10, tls_context=client_context)
        assert send(mail_app, mailer) == outbox.SendReport(retrying=1)
        assert outgoing(mail_app)[0].last_error.startswith("535 ")
        right = replace(mailer, password=SECRET)
        later = utcnow() + timedelta(minutes=1)
        assert send(mail_app, right, later) == outbox.SendReport(sent=1)
    finally:
        controller.stop()
    assert len(inbox.received) == 1


# --- two workers --------------------------------------------------------------------------


@pytest.fixture
def postgres_app(mail_app):
    if not mail_app.config["COMPTOIR"].database_url.startswith("postgresql"):
        pytest.skip("row locks skipped by another transaction: PostgreSQL only")
    return mail_app


def test_a_worker_skips_the_mail_another_one_is_claiming(postgres_app, make, agent):
    queued_reply(postgres_app, make, agent)
    now = utcnow()
    with postgres_app.app_context(), unit_of_work() as first, unit_of_work() as second:
        with first.one_transaction():  # its claim holds the row lock until this block ends
            mine = outbox.claim_due(first, now, 10)
            theirs = outbox.claim_due(second, now, 10)
        assert (len(mine), theirs) == (1, [])
        assert outbox.claim_due(second, now, 10) == []  # claimed: not due any more


def test_two_workers_at_once_never_send_a_mail_twice(postgres_app, make, agent):
    conversation = make.conversation()
    for n in range(30):
        reply(postgres_app, agent, conversation.id, f"Reply {n}")
    mailer, start = FakeMailer(), threading.Barrier(2)
    reports: list[outbox.SendReport] = []

    def worker() -> None:
        start.wait()
        reports.append(send(postgres_app, mailer, limit=100))

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    ids = [m["Message-ID"] for m in mailer.messages]
    assert len(ids) == len(set(ids)) == 30
    assert sum(r.sent for r in reports) == 30


def test_a_reply_whose_mail_was_not_queued_after_its_commit_is_queued_by_the_worker(
        mail_app, deliver, agent, monkeypatch):
    def handler_down(*_args):
        raise RuntimeError("the outbox handler is down")

    first = deliver(raw_email(name="Ada", message_id="lost@mail.example"))
    monkeypatch.setattr("helpdesk.mail.triggers.outbox.queue_agent_reply", handler_down)
    message = reply(mail_app, agent, first.conversation_id)
    monkeypatch.undo()
    assert outgoing(mail_app, OutboundKind.AGENT_REPLY) == []
    policy = outbox.MailPolicy.from_settings(mail_app.config["COMPTOIR"])
    with mail_app.app_context():
        assert outbox.queue_missed_replies(unit_of_work, policy, utcnow()) == 0  # in grace
        later = utcnow() + timedelta(minutes=2)
        assert outbox.queue_missed_replies(unit_of_work, policy, later) == 1
        assert outbox.queue_missed_replies(unit_of_work, policy, later) == 0  # once
    [mail] = outgoing(mail_app, OutboundKind.AGENT_REPLY)
    assert mail.message_id == message.id
