"""Export: one archive holding everything about the customer (every table that can hold
their data is in it or left out for a stated reason), built at once or by the worker,
claimed once, expired after a week. Both backends."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import AuditLog, DataRequest, DataRequestState, Role, TimelineEvent
from helpdesk.orm import utcnow
from helpdesk.privacy import build_exports, exports, folders
from helpdesk.privacy.archive import EXCLUDED
from tests.privacy_seed import (
    EMAIL,
    MARKER,
    OTHER_IMPORTED,
    empty_tables,
    seed_customer,
    tables_holding_customer_data,
)


@pytest.fixture
def supervisor(make):
    return Actor("agent", make.user(Role.SUPERVISOR).id)


def requested(app, actor, customer_id) -> int:
    with app.app_context(), unit_of_work() as uow:
        return exports.request_export(uow, actor, customer_id).id


def request_row(app, request_id) -> DataRequest:
    with app.app_context():
        return db.session.get(DataRequest, request_id)


def built(app, actor, customer_id) -> tuple[DataRequest, zipfile.ZipFile]:
    request_id = requested(app, actor, customer_id)
    with app.app_context():
        assert exports.build(unit_of_work, request_id, folders())
        request = db.session.get(DataRequest, request_id)
        path = folders().exports / request.archive_name
    return request, zipfile.ZipFile(path)


def read_json(archive: zipfile.ZipFile, name: str):
    return json.loads(archive.read(name))


def test_the_seed_fills_every_table_that_can_hold_customer_data(app, make):
    """New tables referencing customers or their records must be seeded here (and then
    exported or excluded with a reason)."""
    seed_customer(app, make)
    assert empty_tables(app, tables_holding_customer_data()) == set()


def test_every_table_is_in_the_archive_or_excluded_with_a_reason(app, make, supervisor):
    seeded = seed_customer(app, make)
    request, archive = built(app, supervisor, seeded.customer_id)
    manifest = read_json(archive, "manifest.json")
    missing = {name for name in tables_holding_customer_data()
               if not manifest["tables"].get(name, {}).get("rows")
               and name not in manifest["excluded"]}
    assert missing == set()
    assert set(manifest["excluded"]) <= set(EXCLUDED) and all(EXCLUDED.values())
    assert request.counts == {"exported": {n: t["rows"] for n, t in manifest["tables"].items()}}
    for name, table in manifest["tables"].items():
        assert table["in"] in ("profile.json", "conversations/") or table["in"] in \
            archive.namelist(), name


def test_the_archive_reads_as_the_customer_s_history(app, make, supervisor):
    seeded = seed_customer(app, make)
    _request, archive = built(app, supervisor, seeded.customer_id)
    names = archive.namelist()
    profile = read_json(archive, "profile.json")
    assert [c["id"] for c in profile["customers"]] == sorted(
        [seeded.customer_id, seeded.duplicate_id])
    assert EMAIL in [i["value"] for i in profile["identities"]]
    conversation = read_json(archive, f"conversations/{seeded.email_conversation_id}.json")
    assert conversation["tags"] == [MARKER]
    [attachment] = [a for m in conversation["messages"] for a in m["attachments"]]
    assert archive.read(attachment["file"]) == f"receipt {MARKER}".encode()
    text = archive.read(f"conversations/{seeded.email_conversation_id}.txt").decode()
    assert f"It left yesterday, {MARKER}" in text and "Agent Smith (agent)" in text
    assert "(agent, internal note)" in text
    chat = archive.read(f"conversations/{seeded.chat_conversation_id}.txt").decode()
    assert f"Satisfaction: 2/5 · Slow {MARKER}" in chat
    assert "Assistant (bot)" in chat
    sources = [n for n in names if n.startswith("emails/")]
    assert len(sources) == 2 and all(EMAIL.encode() in archive.read(n) for n in sources)
    assert {"data/timeline_events.json", "data/calls.json", "data/call_events.json",
            "data/article_feedback.json", "data/unanswered_questions.json",
            "data/inbound_emails.json", "README.txt"} <= set(names)
    questions = read_json(archive, "data/unanswered_questions.json")
    assert "vector" not in questions[0]  # derived data stays out
    csat = [e["payload"] for e in read_json(archive, "data/timeline_events.json")
            if e["type"] in ("conversation.rated", "conversation.rating_changed")]
    assert [p["comment"] for p in csat] == [f"Awful {MARKER}", f"Slow {MARKER}"]


def test_the_rows_of_imported_files_naming_them_are_in_the_archive(app, make, supervisor):
    seeded = seed_customer(app, make)
    _request, archive = built(app, supervisor, seeded.customer_id)
    rows = read_json(archive, "data/customer_import_rows.json")
    assert [(r["filename"], r["row"], r["cells"]["name"]) for r in rows] == [
        ("crm.csv", 2, f"Ada {MARKER}"), ("crm.csv", 3, "Ada")]
    assert rows[0]["problems"] == []
    assert rows[1]["problems"] == [{"column": "language", "message":
                                    f"'{MARKER}' is not a language tag such as fr or pt-BR"}]
    assert OTHER_IMPORTED.encode() not in archive.read("data/customer_import_rows.json")
    assert read_json(archive, "manifest.json")["tables"]["customer_import_rows"] == {
        "rows": 2, "in": "data/customer_import_rows.json"}


def test_a_request_is_stored_first_then_built_by_the_worker(app, make, supervisor):
    customer = make.customer()
    request_id = requested(app, supervisor, customer.id)
    assert request_row(app, request_id).state == DataRequestState.PENDING
    with app.app_context():
        events = db.session.scalars(select(TimelineEvent.type).where(
            TimelineEvent.customer_id == customer.id)).all()
        build_exports(utcnow())
    assert "customer.export_requested" in events
    request = request_row(app, request_id)
    assert request.state == DataRequestState.DONE and request.archive_size > 0


def test_a_request_is_claimed_once(app, make, supervisor):
    request_id = requested(app, supervisor, make.customer().id)
    with app.app_context():
        assert exports.build(unit_of_work, request_id, folders())
        assert not exports.build(unit_of_work, request_id, folders())  # done already
        assert len(list(folders().exports.iterdir())) == 1


def test_a_build_left_running_by_a_dead_worker_is_taken_again(app, make, supervisor):
    request_id = requested(app, supervisor, make.customer().id)
    with app.app_context(), unit_of_work() as uow:
        row = uow.session.get(DataRequest, request_id)
        row.state, row.started_at = DataRequestState.RUNNING, utcnow() - timedelta(hours=2)
        uow.commit()
    with app.app_context():
        assert exports.build_waiting(unit_of_work, folders(), utcnow()) == 1
    assert request_row(app, request_id).state == DataRequestState.DONE


def test_a_failed_build_is_recorded_and_leaves_no_file(app, make, supervisor, monkeypatch):
    request_id = requested(app, supervisor, make.customer().id)

    def broken(*_args, **_kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(exports, "write_archive", broken)
    with app.app_context():
        exports.build(unit_of_work, request_id, folders())
        left = list(folders().exports.iterdir())
    request = request_row(app, request_id)
    assert (request.state, request.error, left) == (DataRequestState.FAILED, "OSError", [])


def test_archives_expire_after_a_week(app, make, supervisor):
    request, _archive = built(app, supervisor, make.customer().id)
    with app.app_context():
        path = folders().exports / request.archive_name
        with unit_of_work() as uow:
            assert exports.expire_archives(uow, folders().exports, utcnow()) == 0
        with unit_of_work() as uow:
            later = utcnow() + timedelta(days=exports.ARCHIVE_DAYS, minutes=1)
            assert exports.expire_archives(uow, folders().exports, later) == 1
    expired = request_row(app, request.id)
    assert (expired.state, expired.archive_name, path.exists()) == (
        DataRequestState.EXPIRED, None, False)


def test_a_download_is_audited(app, make, supervisor):
    request, _archive = built(app, supervisor, make.customer().id)
    with app.app_context(), unit_of_work() as uow:
        path, name = exports.archive_to_download(uow, supervisor, request.id, folders().exports)
        [audit] = uow.session.execute(select(AuditLog.user_id, AuditLog.target_id).where(
            AuditLog.action == "data_request.downloaded")).all()
    assert path.is_file() and name == f"customer-{request.customer_id}-data-{request.id}.zip"
    assert tuple(audit) == (supervisor.id, request.id)


def test_nothing_to_download_before_it_is_built_or_for_an_unknown_request(app, make,
                                                                         supervisor):
    request_id = requested(app, supervisor, make.customer().id)
    with app.app_context(), unit_of_work() as uow:
        with pytest.raises(Conflict, match="no archive"):
            exports.archive_to_download(uow, supervisor, request_id, folders().exports)
        with pytest.raises(NotFound):
            exports.archive_to_download(uow, supervisor, 999, folders().exports)


def test_small_exports_are_built_at_once_large_ones_wait(app, make, monkeypatch):
    customer = make.customer()
    make.conversation(customer)
    with app.app_context():
        assert exports.is_small(db.session, customer.id)
        monkeypatch.setattr(exports, "INLINE_MAX_ROWS", 3)
        assert not exports.is_small(db.session, customer.id)


def test_an_erasure_while_building_throws_the_archive_away(app, make, supervisor,
                                                           monkeypatch):
    customer = make.customer()
    request_id = requested(app, supervisor, customer.id)
    real = exports.write_archive

    def erased_meanwhile(session, where, customer_id, out: Path, storage):
        counts = real(session, where, customer_id, out, storage)
        with unit_of_work() as uow:
            uow.session.get(DataRequest, request_id).state = DataRequestState.EXPIRED
            uow.commit()
        return counts
    monkeypatch.setattr(exports, "write_archive", erased_meanwhile)
    with app.app_context():
        exports.build(unit_of_work, request_id, folders())
        assert list(folders().exports.iterdir()) == []
    assert request_row(app, request_id).archive_name is None
