"""Erasure: nothing of the customer is left in any table, file or vector store; the rest
stays; all-or-nothing and idempotent. Both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Attachment,
    AuditLog,
    Conversation,
    Customer,
    CustomerImportError,
    DataRequest,
    DataRequestState,
    Message,
    Role,
    TimelineEvent,
)
from helpdesk.privacy import erasure, exports, folders
from helpdesk.privacy.scope import customer_scope
from knowledge_base.feedback import ArticleFeedback
from knowledge_base.models import ArticleChunk, ContentGapCluster, UnansweredQuestion
from knowledge_base.search import search_service
from knowledge_base.search.snapshot import load as load_snapshot
from tests.privacy_seed import EMAIL, MARKER, attachments_dir, seed_customer


@pytest.fixture
def supervisor(make):
    return Actor("agent", make.user(Role.SUPERVISOR).id)


def erase(app, actor, customer_id, confirmation=None):
    with app.app_context():
        request_id = erasure.erase_customer(unit_of_work, actor, customer_id,
                                            confirmation or f"ERASE {customer_id}", folders())
        return db.session.get(DataRequest, request_id)


def export(app, actor, customer_id) -> DataRequest:
    with app.app_context():
        with unit_of_work() as uow:
            request = exports.request_export(uow, actor, customer_id)
        exports.build(unit_of_work, request.id, folders())
        return db.session.get(DataRequest, request.id)


def places_holding(app, *needles: str) -> list[str]:
    """Every table.column of the database (as it is, index tables included) whose value
    holds one of ``needles``, ignoring case."""
    wanted = [n.lower() for n in needles]
    found = set()
    with app.app_context(), db.engine.connect() as connection:
        tables = MetaData()
        tables.reflect(connection)
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                found |= {f"{table.name}.{column}" for column, value in row.items()
                          if any(n in _text(value) for n in wanted)}
    return sorted(found)


def files_holding(folder: Path, *needles: str) -> list[str]:
    wanted = [n.lower().encode() for n in needles]
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file() and any(n in path.read_bytes().lower() for n in wanted))


def _text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace").lower()
    if isinstance(value, dict | list):
        return json.dumps(value).lower()
    return str(value).lower()


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_seeded_customer_is_everywhere_before(app, make):
    """The fixture is worth something: the marker is in many places before erasure."""
    seed_customer(app, make)
    places = places_holding(app, MARKER)
    assert {"messages.body", "customers.name", "timeline_events.payload", "calls.notes",
            "inbound_emails.raw", "unanswered_questions.text", "audit_log.details",
            "article_feedback.comment", "notifications.text", "conversations.csat_comment",
            "customer_imports.content", "customer_import_errors.message"} <= set(places)
    assert files_holding(attachments_dir(app), MARKER)


def test_nothing_of_the_customer_is_left_anywhere(app, make, supervisor):
    seeded = seed_customer(app, make)
    bystander = make.conversation(make.customer(name="Bea", email="bea@example.com"),
                                  body="Bea's own words")
    with app.app_context():
        search_service().rebuild()  # a snapshot of the dense index on disk
    archive = export(app, supervisor, seeded.customer_id)
    assert archive.state == DataRequestState.DONE

    request = erase(app, supervisor, seeded.customer_id)

    assert request.state == DataRequestState.DONE
    assert places_holding(app, MARKER, EMAIL) == []
    instance = Path(app.config["COMPTOIR"].instance_dir)
    assert files_holding(instance, MARKER, EMAIL) == []  # attachments, archives, index
    assert count(app, ContentGapCluster) == 0  # the only cluster was made of their questions
    assert count(app, UnansweredQuestion) == 0
    assert count(app, Message, Message.conversation_id == bystander.id) == 1
    with app.app_context():  # the other person's refused row of the imported file stays
        assert db.session.scalars(select(CustomerImportError.message)).all() == [
            "'notalanguage' is not a language tag such as fr or pt-BR"]


def test_what_is_left_is_the_blank_record_the_marker_and_counts(app, make, supervisor):
    seeded = seed_customer(app, make)
    request = erase(app, supervisor, seeded.customer_id)
    with app.app_context():
        customer = db.session.get(Customer, seeded.customer_id)
        assert (customer.name, customer.identities, customer.attributes) == ("", [], {})
        assert db.session.get(Customer, seeded.duplicate_id) is None
        [marker] = db.session.scalars(select(TimelineEvent).where(
            TimelineEvent.customer_id == seeded.customer_id)).all()
        [audit] = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "customer.erased")).all()
        feedback = db.session.scalars(select(ArticleFeedback)).one()
    assert marker.type == "customer.erased"
    assert (audit.user_id, audit.target_id) == (supervisor.id, seeded.customer_id)
    assert audit.details == marker.payload == {"request_id": request.id, **request.counts}
    deleted = request.counts["deleted"]
    assert deleted["conversations"] == 4 and deleted["messages"] >= 6, deleted
    assert deleted["customers"] == 1 and deleted["calls"] == 1
    assert deleted["customer_merges"] == 1 and deleted["customer_import_errors"] == 1
    assert request.counts["files"] == 1
    assert request.counts["anonymised"]["article_feedback"] == 1
    assert request.counts["anonymised"]["customer_imports"] == 1  # the file naming them
    assert (feedback.customer_id, feedback.comment, feedback.helpful) == (None, "", False)


def test_erasing_again_finds_nothing_more(app, make, supervisor):
    seeded = seed_customer(app, make)
    erase(app, supervisor, seeded.customer_id)
    again = erase(app, supervisor, seeded.customer_id)
    assert again.state == DataRequestState.DONE
    assert again.counts == {"deleted": {}, "anonymised": {}, "files": 0}
    markers = count(app, TimelineEvent, TimelineEvent.customer_id == seeded.customer_id)
    assert markers == 2  # each erasure's own, kept


def test_a_failure_erases_nothing_and_is_recorded(app, make, supervisor, monkeypatch):
    seeded = seed_customer(app, make)
    before = places_holding(app, MARKER)

    def broken(*_args, **_kwargs):
        raise IntegrityError("DELETE", {}, Exception("disk on fire"))
    monkeypatch.setattr(erasure, "_blank", broken)
    with pytest.raises(IntegrityError):
        erase(app, supervisor, seeded.customer_id)
    assert places_holding(app, MARKER) == before
    assert files_holding(attachments_dir(app), MARKER)  # files go only after the commit
    with app.app_context():
        request = db.session.scalars(select(DataRequest)).one()
    assert (request.state, request.error) == (DataRequestState.FAILED, "IntegrityError")


def test_the_confirmation_must_be_typed_exactly(app, make, supervisor):
    customer = make.customer()
    for typed in ("", "ERASE", f"erase {customer.id}", f"ERASE {customer.id + 1}"):
        with pytest.raises(ValidationFailed) as refused:
            erase(app, supervisor, customer.id, typed or " ")
        assert refused.value.field == "confirm"
    assert count(app, DataRequest) == 0


def test_a_merged_away_customer_or_an_unknown_one_is_refused(app, make, supervisor):
    seeded = seed_customer(app, make)
    with pytest.raises(Conflict, match="erase that one"):
        erase(app, supervisor, seeded.duplicate_id)
    with pytest.raises(NotFound):
        erase(app, supervisor, 999_999)


def test_a_conversation_of_another_customer_merged_into_theirs_is_only_unlinked(
        app, make, supervisor):
    theirs = make.conversation(make.customer(email="them@example.com"))
    other = make.conversation(make.customer(email="other@example.com"), body="Other words")
    with app.app_context(), unit_of_work() as uow:
        uow.session.get(Conversation, other.id).merged_into_id = theirs.id
        uow.commit()
    erase(app, supervisor, theirs.customer_id)
    with app.app_context():
        kept = db.session.get(Conversation, other.id)
    assert kept is not None and kept.merged_into_id is None


def test_the_scope_reaches_every_table_holding_their_data(app, make):
    from tests.privacy_seed import tables_holding_customer_data

    seeded = seed_customer(app, make)
    with app.app_context():
        reached = {table.name for table in customer_scope(db.session, seeded.customer_id)}
    assert reached == tables_holding_customer_data()


def test_the_article_search_index_holds_article_text_only(app, make):
    """The dense (faiss) index and its snapshot hold vectors of article chunks, nothing a
    customer wrote: erasure has nothing to remove there."""
    seed_customer(app, make)
    with app.app_context():
        search_service().rebuild()
        snapshot = load_snapshot(Path(app.config["COMPTOIR"].instance_dir) / "search")
        chunks = set(db.session.scalars(select(ArticleChunk.id)))
    assert snapshot is not None and set(snapshot.ids.tolist()) == chunks
    assert count(app, Attachment) == 1  # (the seeded customer's data is really there)
