"""A customer with data in every table that can hold some, ``MARKER`` in every text they
gave or that was written about them: the fixture of the export and erasure completeness
tests. Built through the real services where there is one (so the history and audit rows
are the real ones), by rows where only a worker or a policy would write them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from helpdesk.chat_files import storage_dir
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import unit_of_work
from helpdesk.mail import intake
from helpdesk.models import (
    AuthorKind,
    Call,
    CallEventKind,
    Channel,
    Conversation,
    ConversationSla,
    ConversationStatus,
    Customer,
    IdentityKind,
    InboundSource,
    Message,
    Priority,
    Role,
    RuleRun,
    RunOutcome,
    SlaBreach,
    SlaDeadline,
    SlaMetric,
)
from helpdesk.orm import Base
from helpdesk.services import (
    calls,
    conversations,
    csat,
    customer_imports,
    customer_merges,
    customers,
    email_intake,
    notifications,
)
from helpdesk.services.conversations import NewMessage
from helpdesk.services.email_intake import Source
from knowledge_base import articles, gaps
from knowledge_base.feedback import record_feedback
from knowledge_base.gaps.service import remember_question
from tests.factories import Factory, raw_email

MARKER = "qzvmarker"  # one lower-case word: the full-text index keeps it whole
EMAIL = "qzv.person@example.com"
PHONE = "+33612345678"
OTHER_IMPORTED = "someone.else@example.com"  # a refused row of the imported file, not theirs
AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@dataclass
class Seeded:
    customer_id: int
    duplicate_id: int  # merged into the customer
    email_conversation_id: int
    chat_conversation_id: int
    agent_id: int


def tables_holding_customer_data() -> set[str]:
    """Every table a customer's data can be in, found as the tests' own reading of the
    metadata: those with a foreign key to customers, or to a table already found."""
    found = {"customers"}
    while more := {t.name for t in Base.metadata.tables.values() if t.name not in found
                   and any(fk.column.table.name in found for fk in t.foreign_keys)}:
        found |= more
    return found


def empty_tables(app: Flask, names: set[str]) -> set[str]:
    with app.app_context(), unit_of_work() as uow:
        return {name for name in names if not uow.session.scalar(
            select(func.count()).select_from(Base.metadata.tables[name]))}


def seed_customer(app: Flask, make: Factory) -> Seeded:
    """The customer (and a duplicate merged into them), everything about them."""
    agent = make.user(Role.AGENT, name="Agent Smith")
    make.custom_field(key="tier", subject="customer")
    customer = make.customer(name=f"Ada {MARKER}", email=EMAIL)
    email_conversation = _email_history(app, agent.id)
    chat = _chat_history(app, make, customer)
    duplicate = _merged_duplicate(app, make, customer.id, agent.id)
    with app.app_context(), unit_of_work() as uow:
        _profile(uow, customer.id, agent.id)
        _conversation_extras(uow, email_conversation, agent.id)
        _call(uow, customer.id, agent.id)
        _feedback(uow, make, customer.id)
        _bookkeeping(uow, make, email_conversation)
        uow.commit()
    with app.app_context():
        _loose_email()
        _imported(agent.id)
        gaps.refresh_now()
    return Seeded(customer.id, duplicate, email_conversation, chat, agent.id)


def _email_history(app: Flask, agent_id: int) -> int:
    """An email with an attachment, someone copied, then the agent's reply (queued mail)."""
    raw = raw_email(EMAIL, subject=f"Parcel {MARKER}", body=f"Where is it? {MARKER}",
                    cc=[f"{MARKER}.friend@example.com"],
                    attachments=[("receipt.txt", "text/plain", f"receipt {MARKER}".encode())])
    with app.app_context():
        outcome = intake.ingest(raw, Source(InboundSource.CLI, reference=f"{MARKER}.eml"))
        with unit_of_work() as uow:
            conversations.post_message(uow, outcome.conversation_id, NewMessage(
                body=f"It left yesterday, {MARKER}", author=Actor("agent", agent_id)))
            conversations.post_message(uow, outcome.conversation_id, NewMessage(
                body=f"Note about {MARKER}", author=Actor("agent", agent_id), internal=True))
    return outcome.conversation_id


def _chat_history(app: Flask, make: Factory, customer: Customer) -> int:
    """A chat the assistant could not answer: its answer, the question kept for the
    content gaps, the handoff packet, the customer's rating."""
    chat = make.conversation(customer, channel=Channel.CHAT,
                             body=f"Can I pay with {MARKER} coins?", subject="")
    with app.app_context(), unit_of_work() as uow:
        conversations.post_message(uow, chat.id, NewMessage(
            body=f"I could not find {MARKER}", author=Actor("bot"),
            meta={"citations": [], "question": MARKER}))
        question = uow.session.scalar(select(Message).where(
            Message.conversation_id == chat.id, Message.author_kind == AuthorKind.CUSTOMER))
        remember_question(uow.session, question, "low_confidence", "en")
        row = uow.session.get(Conversation, chat.id)
        row.handoff = {"summary": f"pay with {MARKER}", "customer": {"email": EMAIL}}
        uow.commit()
    _rated(app, chat.id, Actor("customer", customer.id))
    return chat.id


def _rated(app: Flask, conversation_id: int, customer: Actor) -> None:
    """Solved, rated by the customer in the widget, the rating changed (the timeline keeps
    the earlier comment)."""
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, conversation_id, ConversationStatus.SOLVED)
        csat.rate(uow, customer, conversation_id, rating=1, comment=f"Awful {MARKER}")
        csat.rate(uow, customer, conversation_id, rating=2, comment=f"Slow {MARKER}")


def _merged_duplicate(app: Flask, make: Factory, customer_id: int, agent_id: int) -> int:
    """The same person seen first as a chat visitor, merged into the customer."""
    with app.app_context(), unit_of_work() as uow:
        duplicate = customers.identify(uow, SYSTEM, IdentityKind.VISITOR, f"{MARKER}-visitor",
                                       name=f"Visitor {MARKER}")
    make.conversation(duplicate, channel=Channel.CHAT, body=f"Hello, {MARKER} here")
    with app.app_context(), unit_of_work() as uow:
        customer_merges.merge_customers(uow, Actor("agent", agent_id), source_id=duplicate.id,
                                  target_id=customer_id)
    return duplicate.id


def _profile(uow, customer_id: int, agent_id: int) -> None:
    agent = Actor("agent", agent_id)
    customers.update_customer(uow, agent, customer_id, attributes={"tier": MARKER},
                              consents={"marketing_email": True}, language="fr")
    customers.add_identity(uow, agent, customer_id, IdentityKind.PHONE, PHONE)
    customers.add_identity(uow, agent, customer_id, IdentityKind.EXTERNAL, f"shop:{MARKER}")
    old = customers.add_identity(uow, agent, customer_id, IdentityKind.EMAIL,
                                 f"{MARKER}.old@example.com")
    customers.remove_identity(uow, agent, customer_id, old.id)  # audited with its value


def _conversation_extras(uow, conversation_id: int, agent_id: int) -> None:
    agent = Actor("agent", agent_id)
    conversations.update_conversation(uow, agent, conversation_id, tags=[MARKER],
                                      priority=Priority.HIGH)
    notifications.notify(uow, [agent_id], kind="mention", text=f"Mentioned on {MARKER}",
                         conversation_id=conversation_id)


def _call(uow, customer_id: int, agent_id: int) -> None:
    event = calls.CallEventIn(call_id=f"call-{MARKER}", kind=CallEventKind.RINGING,
                              occurred_at=AT, caller=PHONE, agent=agent_id,
                              recording_url=f"https://pbx.example/{MARKER}.wav",
                              payload={"caller_name": MARKER})
    calls.ingest(uow, event)
    call = uow.session.scalar(select(Call).where(Call.customer_id == customer_id))
    calls.save_notes(uow, Actor("agent", agent_id), call.id, f"Called about {MARKER}")


def _feedback(uow, make: Factory, customer_id: int) -> None:
    article = make.article(title="Payments", body="We take cards.")
    articles.publish(uow, SYSTEM, article.id)
    record_feedback(uow, Actor("customer", customer_id), article.id, helpful=False,
                    comment=f"No {MARKER}", customer_id=customer_id)


def _bookkeeping(uow, make: Factory, conversation_id: int) -> None:
    """What the SLA clocks and the automation rules write, as they write it."""
    policy, rule = make.sla_policy(), make.rule()
    uow.session.add(ConversationSla(conversation_id=conversation_id, policy_id=policy.id,
                                    priority=Priority.HIGH))
    uow.session.flush()
    uow.session.add_all([
        SlaDeadline(conversation_id=conversation_id, metric=SlaMetric.FIRST_RESPONSE,
                    started_at=AT, target_minutes=60),
        SlaBreach(conversation_id=conversation_id, metric=SlaMetric.RESOLUTION,
                  due_at=AT, breached_at=AT + timedelta(hours=1), priority=Priority.HIGH),
        RuleRun(rule_id=rule.id, conversation_id=conversation_id, occurrence=MARKER,
                outcome=RunOutcome.FAILED, errors=[{"error": MARKER}])])


def _loose_email() -> None:
    """An email of theirs in no conversation: stored, then quarantined."""
    with unit_of_work() as uow:
        stored = email_intake.store(uow, raw_email(EMAIL, subject=f"Lost {MARKER}"),
                                    Source(InboundSource.API))
        email_intake.quarantine(uow, stored.email_id, f"seeded {MARKER}")


def _imported(agent_id: int) -> None:
    """A customer file uploaded by staff that names them: one row updated them, one was
    refused (its problem quotes their cell); someone else's refused row too."""
    content = (f"email,name,language\n{EMAIL},Ada {MARKER},fr\n"
               f"{EMAIL.upper()},Ada,{MARKER}\n{OTHER_IMPORTED},Someone,notalanguage\n")
    with unit_of_work() as uow:
        customer_imports.start_import(uow, Actor("agent", agent_id), filename="crm.csv",
                                      content=content.encode())
    customer_imports.run_imports(unit_of_work, datetime.now(UTC))


def attachments_dir(app: Flask) -> Path:
    with app.app_context():
        return storage_dir()
