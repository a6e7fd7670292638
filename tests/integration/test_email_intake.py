"""The email intake pipeline: store first, then thread, record or quarantine; both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import intake
from helpdesk.mail.parsing import UnparseableEmail
from helpdesk.mail.threading import (
    conversation_token,
    remember_message_id,
    reply_address,
    subject_tag,
)
from helpdesk.models import (
    Attachment,
    AuthorKind,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
    InboundEmail,
    InboundSource,
    Message,
    OutboundEmail,
    TimelineEvent,
)
from helpdesk.services import conversations, customers, email_intake
from helpdesk.services.email_intake import Source
from tests.factories import raw_email

PDF = b"%PDF-1.4\n%fake but typed by its first bytes\n"
DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.shop.example>
To: support@shop.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.shop.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example

Final-Recipient: rfc822; ada@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--B
Content-Type: message/rfc822

From: support@shop.example
To: ada@example.com
Message-ID: <reply-1@shop.example>
Subject: Re: Where is my parcel?

It left our warehouse yesterday.
--B--
"""
# Latin-1 bytes, RFC 2047 words in the headers, quoted-printable body.
FRENCH = b"""From: =?ISO-8859-1?Q?Fran=E7oise_L=E9ger?= <francoise@exemple.fr>
To: support@shop.example
Subject: =?ISO-8859-1?Q?R=E9clamation_:_o=F9_est_mon_colis_=3F?=
Message-ID: <fr-1@exemple.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Bonjour, je n'ai toujours pas re=E7u ma commande pass=E9e il y a dix jours.
Fran=E7oise
"""


@pytest.fixture
def deliver(app):
    """Run the pipeline on raw bytes as the CLI does; returns the outcome."""
    def run(raw: bytes, reference: str = "test.eml") -> intake.Outcome:
        with app.app_context():
            return intake.ingest(raw, Source(InboundSource.CLI, reference=reference))
    return run


@pytest.fixture
def read(app):
    """Read rows afresh: ``read(Model, id)``."""
    def get(model, ident):
        with app.app_context():
            return db.session.get(model, ident)
    return get


def _messages(app, conversation_id: int) -> list[Message]:
    with app.app_context():
        return list(db.session.scalars(select(Message).where(
            Message.conversation_id == conversation_id).order_by(Message.seq)))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _timeline(app, customer_id: int) -> list[TimelineEvent]:
    with app.app_context():
        return list(db.session.scalars(select(TimelineEvent).where(
            TimelineEvent.customer_id == customer_id)))


# --- a person's mail ----------------------------------------------------------------------


def test_a_new_mail_opens_a_conversation_for_a_new_customer(app, deliver, read):
    outcome = deliver(raw_email(name="Ada Lovelace", message_id="first@mail.example"))
    assert (outcome.outcome, outcome.thread_rule) == ("new_conversation", "new")
    conversation = read(Conversation, outcome.conversation_id)
    with app.app_context():
        customer = db.session.get(Customer, conversation.customer_id)
        assert (customer.name, [i.value for i in customer.identities]) == (
            "Ada Lovelace", ["ada@example.com"])
    assert (conversation.channel.value, conversation.subject) == ("email", "Where is my parcel?")
    [message] = _messages(app, conversation.id)
    assert (message.body, message.author_kind, message.author_id) == (
        "My parcel never arrived.", AuthorKind.CUSTOMER, customer.id)
    assert message.meta["thread_rule"] == "new"
    assert message.meta["email"]["message_id"] == "first@mail.example"
    assert message.meta["email"]["from"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    stored = read(InboundEmail, outcome.inbound_id)
    assert (stored.state.value, stored.message_id, stored.attempts) == ("processed", message.id, 1)


def test_a_reply_with_in_reply_to_threads_and_keeps_only_the_new_text(app, deliver):
    first = deliver(raw_email(message_id="first@mail.example"))
    body = ("Any news?\n\nOn Mon, 1 Dec 2026 at 10:00, Ada <ada@example.com> wrote:\n"
            "> My parcel never arrived.\n")
    reply = deliver(raw_email(subject="Re: Where is my parcel?", body=body,
                              in_reply_to="first@mail.example"))
    assert (reply.outcome, reply.thread_rule) == ("appended", "in_reply_to")
    assert reply.conversation_id == first.conversation_id
    second = _messages(app, first.conversation_id)[1]
    assert second.body == "Any news?"
    assert "> My parcel never arrived." in second.meta["full_text"]


def test_references_thread_when_in_reply_to_is_missing(deliver):
    first = deliver(raw_email(message_id="first@mail.example"))
    reply = deliver(raw_email(references=["unknown@elsewhere", "first@mail.example"]))
    assert (reply.outcome, reply.thread_rule, reply.conversation_id) == (
        "appended", "references", first.conversation_id)


def test_a_reply_to_a_message_comptoir_sent_threads(app, make, deliver):
    conversation = make.conversation(make.customer(email="ada@example.com"))
    with app.app_context(), unit_of_work() as uow:
        remember_message_id(uow.session, "<agent-reply-1@shop.example>", conversation.id, None)
        uow.commit()
    reply = deliver(raw_email(in_reply_to="agent-reply-1@shop.example"))
    assert (reply.outcome, reply.conversation_id) == ("appended", conversation.id)


def test_a_subject_token_threads(app, make, deliver):
    conversation = make.conversation(make.customer(email="ada@example.com"))
    with app.app_context():
        subject = f"Re: Where is my parcel? {subject_tag(conversation.id)}"
    reply = deliver(raw_email(subject=subject))
    assert (reply.outcome, reply.thread_rule, reply.conversation_id) == (
        "appended", "subject_token", conversation.id)


def test_a_reply_address_token_threads(app, make, deliver):
    conversation = make.conversation(make.customer(email="ada@example.com"))
    with app.app_context():
        to = reply_address("support@shop.example", conversation.id)
    reply = deliver(raw_email(to=to, subject="no tag here"))
    assert (reply.outcome, reply.thread_rule, reply.conversation_id) == (
        "appended", "address_token", conversation.id)


def test_a_guessed_token_does_not_thread(app, make, deliver):
    conversation = make.conversation(make.customer(email="ada@example.com"))
    with app.app_context():
        token = conversation_token(conversation.id)
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    outcome = deliver(raw_email(subject=f"Re: [#{forged}]", to=f"support+{forged}@shop.example"))
    assert outcome.outcome == "new_conversation"
    assert outcome.conversation_id != conversation.id


def test_the_same_subject_without_headers_opens_a_new_conversation(deliver):
    first = deliver(raw_email())
    again = deliver(raw_email())  # same sender, same subject, no reply headers
    assert again.outcome == "new_conversation"
    assert again.conversation_id != first.conversation_id


def test_another_customer_cannot_append_to_a_conversation_by_its_message_id(app, deliver, read):
    ada = deliver(raw_email(message_id="ada-1@mail.example"))
    bob = deliver(raw_email(sender="bob@example.com", in_reply_to="ada-1@mail.example"))
    assert (bob.outcome, bob.thread_rule) == ("new_conversation", "new")
    assert len(_messages(app, ada.conversation_id)) == 1
    assert read(Conversation, bob.conversation_id).customer_id != read(
        Conversation, ada.conversation_id).customer_id


def test_someone_copied_on_the_conversation_may_reply_in_it(app, deliver, read):
    ada = deliver(raw_email(message_id="ada-1@mail.example", cc=["Bob@Example.com"]))
    bob = deliver(raw_email(sender="bob@example.com", in_reply_to="ada-1@mail.example",
                            cc=["ada@example.com"]))
    assert (bob.outcome, bob.conversation_id) == ("appended", ada.conversation_id)
    message = _messages(app, ada.conversation_id)[1]
    bob_customer = read(Message, message.id).author_id
    assert bob_customer != read(Conversation, ada.conversation_id).customer_id


def test_a_reply_reopens_a_solved_conversation(app, deliver, read):
    first = deliver(raw_email(message_id="first@mail.example"))
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, first.conversation_id, ConversationStatus.SOLVED)
    deliver(raw_email(in_reply_to="first@mail.example"))
    assert read(Conversation, first.conversation_id).status == ConversationStatus.OPEN


def test_a_reply_to_a_closed_conversation_opens_a_follow_up(app, deliver):
    first = deliver(raw_email(message_id="first@mail.example"))
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, first.conversation_id, ConversationStatus.CLOSED)
    reply = deliver(raw_email(in_reply_to="first@mail.example"))
    assert reply.outcome == "new_conversation"
    assert _messages(app, reply.conversation_id)[0].meta["follow_up_of"] == first.conversation_id


def test_french_accents_in_latin_1_land_right(app, deliver, read):
    outcome = deliver(FRENCH)
    conversation = read(Conversation, outcome.conversation_id)
    assert conversation.subject == "Réclamation : où est mon colis ?"
    assert read(Customer, conversation.customer_id).name == "Françoise Léger"
    body = _messages(app, conversation.id)[0].body
    assert "je n'ai toujours pas reçu ma commande passée il y a dix jours" in body


def test_attachments_are_stored_and_refused_ones_recorded(app, deliver):
    outcome = deliver(raw_email(attachments=[
        ("invoice.pdf", "application/pdf", PDF),
        ("setup.exe", "application/octet-stream", b"MZ\x90\x00\x03binary")]))
    [message] = _messages(app, outcome.conversation_id)
    with app.app_context():
        files = list(db.session.scalars(select(Attachment).where(
            Attachment.message_id == message.id)))
    assert [(f.filename, f.content_type) for f in files] == [("invoice.pdf", "application/pdf")]
    [rejected] = message.meta["rejected_attachments"]
    assert rejected["filename"] == "setup.exe" and "PDF" in rejected["reason"]


# --- stored once, processed once ----------------------------------------------------------


def test_the_same_message_twice_is_one_row(app, deliver):
    raw = raw_email(message_id="once@mail.example")
    first, second = deliver(raw), deliver(raw)
    assert (second.outcome, second.conversation_id, second.inbound_id) == (
        "duplicate", first.conversation_id, first.inbound_id)
    assert (_count(app, InboundEmail), len(_messages(app, first.conversation_id))) == (1, 1)


def test_without_a_message_id_the_content_is_the_key(app, deliver):
    raw = raw_email(message_id="")
    assert deliver(raw).outcome == "new_conversation"
    assert deliver(raw).outcome == "duplicate"
    with app.app_context():
        key = db.session.scalar(select(InboundEmail.dedup_key))
    assert key.startswith("sha256:")


def test_an_empty_email_is_refused(app):
    with app.app_context(), pytest.raises(email_intake.EmptyEmail, match="empty"):
        intake.ingest(b"  \r\n", Source(InboundSource.CLI))


def test_one_insert_keeps_a_fetch_and_each_copy_finds_the_first(app, uow):
    before = email_intake.store(uow, raw_email(message_id="old@mail.example"),
                                Source(InboundSource.CLI)).email_id
    imap = Source(InboundSource.IMAP, "uid 1")
    stored = email_intake.keep_many(uow, [(raw_email(message_id="new@mail.example"), imap),
                                          (raw_email(message_id="old@mail.example"), imap),
                                          (raw_email(message_id="new@mail.example"), imap)])
    assert [s.earlier is None for s in stored] == [True, False, False]
    assert stored[1].email_id == before
    assert stored[2].email_id == stored[0].email_id != before
    uow.commit()
    with pytest.raises(email_intake.EmptyEmail):
        email_intake.keep_many(uow, [(raw_email(message_id="other@mail.example"), imap),
                                     (b"\r\n", imap)])
    assert _count(app, InboundEmail) == 2


def test_processing_again_changes_nothing(app, deliver):
    first = deliver(raw_email())
    with app.app_context():
        again = intake.process(first.inbound_id)
    assert again == first
    assert len(_messages(app, first.conversation_id)) == 1


def test_our_own_mail_coming_back_is_a_duplicate(app, make, deliver):
    conversation = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        remember_message_id(uow.session, "sent-1@shop.example", conversation.id, None)
        uow.commit()
    customers_before = _count(app, Customer)
    looped = deliver(raw_email(sender="support@shop.example", message_id="sent-1@shop.example"))
    assert (looped.outcome, looped.conversation_id) == ("duplicate", conversation.id)
    assert _count(app, Customer) == customers_before


# --- quarantine ---------------------------------------------------------------------------


def test_a_crash_quarantines_the_mail_and_reprocess_recovers_it(app, deliver, monkeypatch):
    def crash(*_args):
        raise RuntimeError("threading exploded")

    monkeypatch.setattr(email_intake, "_deliver", crash)
    failed = deliver(raw_email())
    assert (failed.outcome, failed.conversation_id) == ("quarantined", None)
    assert failed.reason == "RuntimeError: threading exploded"
    assert _count(app, Customer) == 0  # nothing half-written: one transaction
    with app.app_context():
        assert [e.id for e in email_intake.quarantined(db.session)] == [failed.inbound_id]
        assert intake.process(failed.inbound_id).outcome == "quarantined"  # waits
    monkeypatch.undo()
    with app.app_context():
        recovered = intake.reprocess(failed.inbound_id)
    assert recovered.outcome == "new_conversation"
    with app.app_context():
        stored = db.session.get(InboundEmail, failed.inbound_id)
        assert (stored.attempts, stored.state.value, stored.reason) == (2, "processed", "")
        assert email_intake.quarantined(db.session) == []


def test_an_unparseable_mail_is_quarantined_with_the_reason(deliver, monkeypatch):
    def unreadable(_raw):
        raise UnparseableEmail("no header, text or attachment could be read")

    monkeypatch.setattr(email_intake, "parse_email", unreadable)
    outcome = deliver(b"\x00\x01\x02")
    assert outcome.outcome == "quarantined"
    assert outcome.reason == "unparseable: no header, text or attachment could be read"


def test_a_mail_without_sender_is_quarantined(deliver):
    outcome = deliver(b"To: support@shop.example\r\nSubject: Hi\r\n\r\nWho am I?\r\n")
    assert (outcome.outcome, outcome.reason) == (
        "quarantined", "the email has no sender address (From)")


def test_reprocessing_all_tries_every_quarantined_mail(app, deliver, monkeypatch):
    monkeypatch.setattr(email_intake, "_deliver", lambda *_a: 1 / 0)
    ids = [deliver(raw_email()).inbound_id for _ in range(2)]
    monkeypatch.undo()
    with app.app_context():
        outcomes = intake.reprocess_quarantined()
    assert [(o.inbound_id, o.outcome) for o in outcomes] == [
        (ids[0], "new_conversation"), (ids[1], "new_conversation")]


# --- batches (the IMAP poller processes a FETCH's worth in one transaction) ----------------


@pytest.fixture
def statements(app):
    """The SQL statements run while the test runs."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_rest):
        seen.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def batch(app):
    """Store raw emails, then process them as one batch; returns the outcomes."""
    def run(*raws: bytes) -> list[intake.Outcome]:
        with app.app_context():
            ids = [intake.store(raw, Source(InboundSource.IMAP, f"uid {n}"))
                   for n, raw in enumerate(raws)]
            return intake.process_batch(ids)
    return run


def _crashing_for(subject: str):
    real = email_intake._deliver

    def deliver(uow, email, parsed, *rest):
        if parsed.subject == subject:
            raise RuntimeError("threading exploded")
        return real(uow, email, parsed, *rest)
    return deliver


def test_a_batch_quarantines_a_failing_mail_alone(app, batch, monkeypatch):
    monkeypatch.setattr(email_intake, "_deliver", _crashing_for("Broken"))
    outcomes = batch(raw_email(message_id="a1@mail.example"),
                     raw_email(sender="bob@example.com", subject="Broken"),
                     raw_email(subject="Re: Where is my parcel?", in_reply_to="a1@mail.example"))
    assert [o.outcome for o in outcomes] == ["new_conversation", "quarantined", "appended"]
    assert outcomes[1].reason == "RuntimeError: threading exploded"
    assert outcomes[2].conversation_id == outcomes[0].conversation_id
    with app.app_context():  # the failing mail's customer was undone with it, and its events
        assert db.session.scalars(select(Identity.value)).all() == ["ada@example.com"]
        ada = db.session.get(Conversation, outcomes[0].conversation_id).customer_id
        assert set(db.session.scalars(select(TimelineEvent.customer_id))) == {ada}
        assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 1


def test_a_reply_to_a_batch_mail_that_failed_opens_a_conversation_of_its_own(batch,
                                                                             monkeypatch):
    monkeypatch.setattr(email_intake, "_deliver", _crashing_for("Broken"))
    outcomes = batch(raw_email(sender="bob@example.com", subject="Broken",
                               message_id="b1@mail.example"),
                     raw_email(sender="bob@example.com", subject="Re: Broken!",
                               in_reply_to="b1@mail.example"))
    assert [o.outcome for o in outcomes] == ["quarantined", "new_conversation"]


def test_a_batch_looks_up_the_threads_of_its_replies_in_one_query(batch, deliver, statements):
    firsts = [deliver(raw_email(subject=f"Parcel {n}", message_id=f"p{n}@mail.example"))
              for n in range(3)]
    statements.clear()
    outcomes = batch(*(raw_email(subject=f"Re: Parcel {n}", in_reply_to=f"p{n}@mail.example")
                       for n in range(3)))
    assert [o.conversation_id for o in outcomes] == [f.conversation_id for f in firsts]
    assert len([s for s in statements if "FROM email_message_refs" in s]) == 1
    assert len([s for s in statements if "FROM conversations" in s and "FOR UPDATE" in s]) <= 1


def test_a_batch_sets_aside_a_mail_without_a_valid_sender_without_a_savepoint(batch, make,
                                                                               statements):
    make.customer("Ada", email="ada@example.com")  # known: no savepoint to create her
    outcomes = batch(raw_email(message_id="a1@mail.example"),
                     raw_email(sender="xxxxx@xxxxx", subject="Odd"),
                     raw_email(subject="Re: Where is my parcel?", in_reply_to="a1@mail.example"))
    assert [o.outcome for o in outcomes] == ["new_conversation", "quarantined", "appended"]
    assert outcomes[1].reason == "'xxxxx@xxxxx' is not an email address"
    assert not [s for s in statements if s.startswith("SAVEPOINT")]


def test_a_batch_whose_transaction_fails_is_processed_one_mail_at_a_time(app, batch,
                                                                         monkeypatch):
    real_set_aside, calls = email_intake.set_aside, []

    def set_aside_failing_once(*args):
        calls.append(args[1])
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real_set_aside(*args)

    monkeypatch.setattr(email_intake, "_deliver", _crashing_for("Broken"))
    monkeypatch.setattr(email_intake, "set_aside", set_aside_failing_once)
    outcomes = batch(raw_email(), raw_email(subject="Broken"), raw_email(subject="Returns"))
    assert [o.outcome for o in outcomes] == ["new_conversation", "quarantined",
                                             "new_conversation"]
    assert len(calls) == 2  # the batch's attempt, then the mail's own
    assert _count(app, Message) == 2
    assert _count(app, Conversation) == 2


def test_a_batch_finds_each_senders_customer_known_or_new(app, batch, make):
    ada = make.customer("Ada", email="ada@example.com")
    outcomes = batch(raw_email(sender="Ada@Example.com", subject="Parcel"),
                     raw_email(sender="bob@example.com", subject="Refund"),
                     raw_email(sender="BOB@example.com", subject="Invoice"),
                     raw_email(sender="ada@example.com", subject="Out of office",
                               headers={"Auto-Submitted": "auto-replied"}))
    assert [o.outcome for o in outcomes] == ["new_conversation"] * 3 + ["auto_reply"]
    with app.app_context():
        owners = [db.session.get(Conversation, o.conversation_id).customer_id
                  for o in outcomes[:3]]
        bob = customers.find_by_identity(db.session, IdentityKind.EMAIL, "bob@example.com")
        assert owners == [ada.id, bob.id, bob.id]
        assert _count(app, Customer) == 2
        assert db.session.scalar(select(TimelineEvent.customer_id).where(
            TimelineEvent.type == "email.auto_reply")) == ada.id


# --- automatic mail -----------------------------------------------------------------------


def test_an_auto_reply_is_recorded_not_threaded_as_a_message(app, deliver):
    first = deliver(raw_email(message_id="first@mail.example"))
    auto = deliver(raw_email(subject="Out of office", body="I am away until Monday.",
                             in_reply_to="first@mail.example",
                             headers={"Auto-Submitted": "auto-replied"}))
    assert (auto.outcome, auto.conversation_id, auto.thread_rule) == (
        "auto_reply", first.conversation_id, "in_reply_to")
    assert len(_messages(app, first.conversation_id)) == 1
    customer_id = _messages(app, first.conversation_id)[0].author_id
    [event] = [e for e in _timeline(app, customer_id) if e.type == "email.auto_reply"]
    assert (event.conversation_id, event.payload["inbound_email_id"]) == (
        first.conversation_id, auto.inbound_id)


def test_an_auto_reply_from_a_stranger_creates_nobody(app, deliver):
    outcome = deliver(raw_email(sender="robot@elsewhere.example",
                                headers={"Auto-Submitted": "auto-replied"}))
    assert (outcome.outcome, outcome.conversation_id) == ("auto_reply", None)
    assert _count(app, Customer) == 0


def test_a_bounce_flags_the_identity_and_threads_to_the_returned_mail(app, make, deliver):
    ada = make.customer(email="ada@example.com")
    conversation = make.conversation(ada)
    with app.app_context(), unit_of_work() as uow:
        remember_message_id(uow.session, "reply-1@shop.example", conversation.id, None)
        uow.commit()
    outcome = deliver(DSN)
    assert (outcome.outcome, outcome.conversation_id) == ("bounce", conversation.id)
    with app.app_context():
        identity = db.session.scalar(select(Identity).where(Identity.value == "ada@example.com"))
        assert identity.bouncing
        assert customers.find_by_identity(db.session, identity.kind,
                                          "mailer-daemon@mx.shop.example") is None
    [event] = [e for e in _timeline(app, ada.id) if e.type == "email.bounced"]
    assert (event.payload["status"], event.payload["permanent"]) == ("5.1.1", True)
    assert len(_messages(app, conversation.id)) == 1
