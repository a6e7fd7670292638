"""Privacy without a database: which tables a scope reaches, the typed confirmation, the
blank customer, the transcript, the retention rules' checks, the rows of imported files,
the assistant's log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

import knowledge_base.feedback  # noqa: F401  (its table on the metadata)
from bot.kb_engine import UnansweredQuestion, log_unanswered
from bot.responses import EscalationReason
from helpdesk.errors import ValidationFailed
from helpdesk.models import Conversation, Customer
from helpdesk.privacy import erasure, imports, retention, scope
from helpdesk.privacy.archive import transcript

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def reached(roots) -> set[str]:
    return {table.name for table in scope.reach(roots)}


def test_a_customer_reaches_their_records_and_what_hangs_from_them():
    names = reached({scope.CUSTOMERS: scope.CUSTOMERS.c.id.in_([1])})
    assert {"customers", "identities", "conversations", "messages", "attachments",
            "timeline_events", "calls", "call_events", "inbound_emails", "outbound_emails",
            "unanswered_questions", "article_feedback", "sla_deadlines"} <= names
    assert not {"users", "queues", "articles", "audit_log", "data_requests",
                "content_gap_clusters"} & names


def test_conversations_reach_their_children_not_their_customer():
    names = reached({Conversation.__table__: Conversation.__table__.c.id.in_([1])})
    assert {"messages", "attachments", "calls", "timeline_events"} <= names
    assert not {"customers", "identities", "article_feedback"} & names


def test_a_self_reference_does_not_bring_rows_in():
    where = scope.reach({scope.CUSTOMERS: scope.CUSTOMERS.c.id.in_([1])})
    conversations = str(where[Conversation.__table__])
    assert "merged_into_id" not in conversations and "customer_id" in conversations


def test_a_table_named_in_the_roots_keeps_its_links_too():
    table = scope.ConversationParticipant.__table__
    where = scope.reach({scope.CUSTOMERS: scope.CUSTOMERS.c.id.in_([1]),
                         table: table.c.email.in_(["ada@example.com"])})
    condition = str(where[table])
    assert "conversation_participants.email IN" in condition and "conversation_id IN" in condition


@pytest.mark.parametrize("typed", ["ERASE 42", "  ERASE 42 "])
def test_the_confirmation_names_the_customer(typed):
    erasure.check_confirmation(42, typed)


@pytest.mark.parametrize("typed", ["", "ERASE", "erase 42", "ERASE 4", "ERASE 42!", "DELETE 42"])
def test_anything_else_is_refused_naming_the_field(typed):
    with pytest.raises(ValidationFailed, match="ERASE 42") as refused:
        erasure.check_confirmation(42, typed)
    assert refused.value.field == "confirm"


def test_every_column_of_the_customer_can_be_blanked():
    blank = {column.name: erasure._default(column) for column in Customer.__table__.columns
             if column.name not in erasure.KEPT_COLUMNS}
    assert blank["name"] == "" and blank["attributes"] == {} and blank["consents"] == {}
    assert all(blank[column.name] is not None or column.nullable
               for column in Customer.__table__.columns if column.name in blank)


def test_the_transcript_reads_as_a_conversation():
    conversation = {"id": 7, "subject": "", "channel": "chat", "status": "solved",
                    "created_at": AT, "csat_rating": 4, "csat_comment": "Quick",
                    "messages": [
                        {"author_kind": "customer", "author_id": 3, "internal": False,
                         "created_at": AT, "body": "Hello", "attachments": [
                             {"filename": "a.png", "file": "attachments/1-a.png"},
                             {"filename": "b.pdf", "file": None}]},
                        {"author_kind": "bot", "author_id": None, "internal": False,
                         "created_at": AT, "body": "Hi!", "attachments": []},
                        {"author_kind": "agent", "author_id": 9, "internal": True,
                         "created_at": AT, "body": "VIP", "attachments": []}]}
    text = transcript(conversation, {("customer", 3): "Ada", ("agent", 9): "Bob"})
    assert text == (
        "Conversation #7: (no subject)\n"
        "Channel: chat · Status: solved · Opened: 2026-03-01 09:30 UTC\n"
        "Satisfaction: 4/5 · Quick\n\n"
        "2026-03-01 09:30 UTC · Ada (customer)\nHello\n"
        "  Attachment: a.png (attachments/1-a.png)\n  Attachment: b.pdf (file missing)\n\n"
        "2026-03-01 09:30 UTC · Assistant (bot)\nHi!\n\n"
        "2026-03-01 09:30 UTC · Bob (agent, internal note)\nVIP\n")


def test_one_rule_per_channel_besides_the_anonymous_chats_and_the_sources():
    assert retention.RULES == ("anonymous_chat", "closed_chat", "closed_email",
                               "closed_phone", "closed_web_form", "closed_api",
                               "email_sources")


@pytest.mark.parametrize(("rule", "days"), [("closed_fax", 3), ("closed_email", 0),
                                            ("closed_email", 36501), ("email_sources", "30"),
                                            ("email_sources", True)])
def test_days_are_checked_by_rule(rule, days):
    with pytest.raises(ValidationFailed) as refused:
        retention._checked_days(rule, days)
    assert refused.value.field == rule


def test_none_turns_a_rule_off():
    assert retention._checked_days("closed_email", None) is None
    assert retention._checked_days("closed_email", 36500) == 36500


# Uploaded customer files: the rows naming them


def test_the_rows_of_a_file_are_numbered_as_the_import_numbers_them():
    content = ('email;name\r\nada@example.com;"Ada\nLovelace"\r\n\r\nBOB@example.com;Bob\r\n'
               ).encode("utf-8-sig")
    rows = imports._rows(content)
    assert rows == [(2, {"email": "ada@example.com", "name": "Ada\nLovelace"}), (3, {}),
                    (4, {"email": "BOB@example.com", "name": "Bob"})]
    assert [n for n, cells in rows if imports._names(cells.values(), ["bob@example.com"])] \
        == [4]


def test_a_cell_beyond_the_header_is_named_by_its_position():
    assert imports._rows(b"email\nada@example.com,extra\n") == [
        (2, {"email": "ada@example.com", "column 2": "extra"})]


# The assistant's log


def test_the_assistant_logs_an_escalation_without_the_customer_s_words(caplog):
    question = UnansweredQuestion(conversation_id=42, text="my secret words", language="en",
                                  reason=EscalationReason.LOW_CONFIDENCE, best_score=0.2,
                                  best_article_id=None)
    with caplog.at_level(logging.INFO, logger="bot.kb_engine"):
        log_unanswered(question)
    assert "conversation 42" in caplog.text and "low_confidence" in caplog.text
    assert "secret" not in caplog.text
