"""Customer imports from CSV (helpdesk.services.customer_imports): checked when uploaded,
stored, processed by the worker in batches with a per-row error report, idempotent; and
the export in the same columns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.errors import ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Customer,
    CustomerImport,
    CustomFieldDefinition,
    IdentityKind,
    ImportState,
    Organisation,
    TimelineEvent,
)
from helpdesk.orm import utcnow
from helpdesk.services import custom_fields, customer_imports, customers

HEADER = "name,email,phone,external_id,language,timezone,organisation,attr:loyalty_tier\n"


@pytest.fixture
def importer(make):
    make.custom_field(subject="customer", key="loyalty_tier", label="Tier", type="select",
                      options=["gold", "silver"])
    make.custom_field(subject="customer", key="vip", label="VIP", type="checkbox")
    make.custom_field(subject="customer", key="orders", label="Orders", type="number")
    return make.user()


def start(app, user, text: str | bytes, filename="customers.csv") -> CustomerImport:
    content = text.encode() if isinstance(text, str) else text
    with app.app_context(), unit_of_work() as uow:
        return customer_imports.start_import(uow, Actor("agent", user.id), filename=filename,
                                             content=content)


def run(app) -> int:
    with app.app_context():
        return customer_imports.run_imports(unit_of_work, utcnow(), budget_seconds=60)


def load(app, import_id) -> CustomerImport:
    with app.app_context():
        return db.session.get(CustomerImport, import_id)


def errors(app, import_id) -> list[tuple[int, str, str]]:
    with app.app_context():
        return [(e.row, e.column, e.message)
                for e in customer_imports.import_errors(db.session, import_id)]


def customer_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer))


def by_email(app, email) -> Customer:
    with app.app_context():
        found = customers.find_by_identity(db.session, IdentityKind.EMAIL, email)
        assert found is not None
        found.identities, found.organisation  # noqa: B018 (loaded for the test)
        return found


@pytest.mark.parametrize(("content", "message"), [
    ("name;email\nAda;ada@example.com\n".encode("cp1252") + "Zoé;z@example.com\n".encode(
        "cp1252"), "not UTF-8 text (byte 0xe9 on line 3): save it as \"CSV UTF-8\""),
    (b"", "the file is empty"),
    (b"\n\n", "the file is empty"),
    (b"name,emial\nAda,ada@example.com\n", "column 2 'emial' is not one of name, email"),
    (b"email,Email\na@example.com,b@example.com\n", "column 'email' appears twice"),
    (b"name,language\nAda,fr\n", "needs an email, phone or external_id column"),
    (b"email,attr:shoe_size\na@example.com,42\n", "no customer attribute has the key "
                                                  "'shoe_size'"),
    (b"email,name\n", "a header but no rows"),
    (b'email,name\n"a@example.com,Ada\n', "not a readable CSV file"),
])
def test_an_unreadable_file_is_refused_at_once_saying_why(app, importer, content, message):
    with pytest.raises(ValidationFailed) as refused:
        start(app, importer, content)
    assert refused.value.field == "file" and message in refused.value.message
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerImport)) == 0


def test_rows_are_created_updated_or_reported_row_by_row(app, make, importer):
    known = make.customer("Old name", email="bob@example.com")
    text = (HEADER
            + "Ada Lovelace,ada@example.com | ada@work.example,+33 6 12 34 56 78,crm-1,fr,"
              "Europe/Paris,Analytical Engines,gold\n"
            + "Bob,BOB@example.com,,,,,,silver\n"
            + "\n"
            + "Bad,not-an-email,12,,english,Mars/Base,,platinum\n"
            + ",,,,fr,,,\n"
            + "Two,bob@example.com,,crm-1,,,,\n"
            + "Too,many@example.com,,,,,,,extra\n")
    job = start(app, importer, text, filename="crm.csv")
    assert (job.state, job.total_rows, job.filename) == (ImportState.QUEUED, 6, "crm.csv")
    assert run(app) == 6
    done = load(app, job.id)
    assert (done.state, done.processed_rows, done.created_count, done.updated_count,
            done.unchanged_count, done.failed_count) == (ImportState.DONE, 6, 1, 1, 0, 4)
    assert errors(app, job.id) == [
        (5, "email", "'not-an-email' is not an email address"),
        (5, "phone", "'12' is not a phone number"),
        (5, "language", "'english' is not a language tag such as fr or pt-BR"),
        (5, "timezone", "'Mars/Base' is not an IANA time zone name such as Europe/Paris"),
        (5, "attr:loyalty_tier", "Tier (loyalty_tier): must be one of gold, silver"),
        (6, "email", "the row needs an email, a phone or an external_id to find or create "
                     "its customer"),
        (7, "external_id", "external_id belongs to customer #"
                           f"{by_email(app, 'ada@example.com').id} but email to customer "
                           f"#{known.id}: merge them first"),
        (8, "", "the row has 9 cells, the header 8 columns")]
    ada = by_email(app, "ada@work.example")
    assert (ada.name, ada.language, ada.timezone, ada.attributes) == (
        "Ada Lovelace", "fr", "Europe/Paris", {"loyalty_tier": "gold"})
    assert sorted((i.kind.value, i.value) for i in ada.identities) == [
        ("email", "ada@example.com"), ("email", "ada@work.example"),
        ("external", "crm-1"), ("phone", "+33612345678")]
    assert ada.organisation.name == "Analytical Engines"
    bob = by_email(app, "bob@example.com")
    assert (bob.id, bob.name, bob.attributes) == (known.id, "Bob", {"loyalty_tier": "silver"})
    with app.app_context():
        imported = db.session.scalars(select(TimelineEvent.payload).where(
            TimelineEvent.type == "customer.imported").order_by(TimelineEvent.id)).all()
    assert imported == [{"import_id": job.id, "row": 2, "created": True},
                        {"import_id": job.id, "row": 3, "created": False}]


def test_importing_the_same_file_again_changes_nothing(app, importer):
    text = (HEADER + "Ada,ada@example.com,,,fr,,Acme,gold\n"
            + "Bob,bob@example.com,+33612345678,,,,acme,\n")
    first = start(app, importer, text)
    run(app)
    count = customer_count(app)
    with app.app_context():
        organisations = db.session.scalar(select(func.count()).select_from(Organisation))
    second = start(app, importer, text)
    run(app)
    again = load(app, second.id)
    assert (load(app, first.id).created_count, again.created_count, again.updated_count,
            again.unchanged_count) == (2, 0, 0, 2)
    assert customer_count(app) == count
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) \
            == organisations == 1


def test_a_row_refused_half_way_leaves_nothing_of_it(app, make, importer, monkeypatch):
    known = make.customer("Bob", email="bob@example.com")

    def refuse(*_args, **_kwargs):
        raise ValidationFailed("refused for the test", field="value")

    monkeypatch.setattr(customers, "add_identity", refuse)  # after the name and organisation
    job = start(app, importer, "name,email,organisation\n"
                               "Robert,bob@example.com | robert@example.com,Zeta Corp\n")
    run(app)
    assert (load(app, job.id).failed_count, errors(app, job.id)) == (
        1, [(2, "", "refused for the test")])
    bob = by_email(app, "bob@example.com")
    assert (bob.id, bob.name, bob.organisation) == (known.id, "Bob", None)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0
        assert db.session.scalar(select(func.count()).select_from(TimelineEvent).where(
            TimelineEvent.type.in_(["customer.updated", "customer.organisation_changed",
                                    "customer.imported"]))) == 0


def test_a_batch_cut_short_is_retried_whole_without_duplicates(app, importer, monkeypatch):
    monkeypatch.setattr(customer_imports, "BATCH", 4)
    job = start(app, importer, "name,email\n" + "".join(
        f"Customer {n},c{n}@example.com\n" for n in range(6)))
    upsert, calls = customer_imports._upsert, []

    def crash_on_the_third_row(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker died")
        return upsert(*args, **kwargs)

    monkeypatch.setattr(customer_imports, "_upsert", crash_on_the_third_row)
    with pytest.raises(RuntimeError):
        run(app)
    cut = load(app, job.id)
    assert (cut.processed_rows, cut.created_count, customer_count(app)) == (0, 0, 0)
    monkeypatch.setattr(customer_imports, "_upsert", upsert)
    later = utcnow() + customer_imports.LEASE + timedelta(seconds=1)  # its lease ran out
    with app.app_context():
        assert customer_imports.run_imports(unit_of_work, later, budget_seconds=60) == 6
    done = load(app, job.id)
    assert (done.state, done.processed_rows, done.created_count, customer_count(app)) == (
        ImportState.DONE, 6, 6, 6)


def test_the_worker_goes_batch_by_batch_keeping_the_progress(app, importer, monkeypatch):
    monkeypatch.setattr(customer_imports, "BATCH", 2)
    rows = "".join(f"Customer {n},c{n}@example.com\n" for n in range(5))
    job = start(app, importer, "name,email\n" + rows)
    with app.app_context():
        parsed = customer_imports.read_file(db.session, load(app, job.id).content)
        assert customer_imports.claim_import(unit_of_work, utcnow()) == job.id
        assert customer_imports.claim_import(unit_of_work, utcnow()) is None  # held
        assert customer_imports.process_batch(unit_of_work, job.id, parsed, utcnow()) == (
            False, 2)
    running = load(app, job.id)
    assert (running.state, running.processed_rows, running.created_count) == (
        ImportState.RUNNING, 2, 2)
    with app.app_context():  # its worker died: the lease runs out, another takes over
        later = utcnow() + customer_imports.LEASE + timedelta(seconds=1)
        assert customer_imports.claim_import(unit_of_work, later) == job.id
    assert run(app) == 0  # held by the one that took over
    with app.app_context():
        while not customer_imports.process_batch(unit_of_work, job.id, parsed, utcnow())[0]:
            pass
    done = load(app, job.id)
    assert (done.state, done.processed_rows, done.created_count, done.claimed_until) == (
        ImportState.DONE, 5, 5, None)
    assert run(app) == 0


def test_a_worker_out_of_time_lets_the_next_turn_go_on_at_once(app, importer):
    job = start(app, importer, "email\na@example.com\n")
    with app.app_context():
        assert customer_imports.run_imports(unit_of_work, utcnow(), budget_seconds=0) == 0
    assert load(app, job.id).claimed_until is None
    assert run(app) == 1


def test_semicolons_a_bom_header_case_and_typed_attributes(app, importer):
    text = "\ufeffEmail;Name;ATTR:vip;attr:orders\r\nada@example.com;Ada;oui;12\r\n" \
           "bob@example.com;Bob;no;1,5\r\ncy@example.com;Cy;maybe;many\r\n"
    job = start(app, importer, text)
    run(app)
    assert by_email(app, "ada@example.com").attributes == {"vip": True, "orders": 12}
    assert by_email(app, "bob@example.com").attributes == {"vip": False, "orders": 1.5}
    assert [(row, column) for row, column, _ in errors(app, job.id)] == [
        (4, "attr:vip"), (4, "attr:orders")]


def test_a_file_that_no_longer_reads_fails_the_import(app, importer):
    job = start(app, importer, "email,attr:vip\nada@example.com,yes\n")
    with app.app_context(), unit_of_work() as uow:
        vip = uow.session.scalar(select(CustomFieldDefinition.id).where(
            CustomFieldDefinition.key == "vip"))
        custom_fields.delete_field(uow, SYSTEM, vip)
    run(app)
    failed = load(app, job.id)
    assert failed.state == ImportState.FAILED and "'vip'" in failed.error


# --- the export --------------------------------------------------------------------------------


def exported(app, **filters) -> str:
    with app.app_context():
        return "".join(customer_imports.export_lines(db.session_factory, **filters))


def test_the_export_reimports_without_changing_anything(app, make, importer):
    text = (HEADER + "Ada,ada@example.com | a2@example.com,+33612345678,crm-1,fr,"
                     "Europe/Paris,Acme,gold\n"
            + "=HYPERLINK(\"x\"),bob@example.com,,,,,,\n")
    start(app, importer, text)
    run(app)
    make.customer("Cy", email="cy@example.com")
    csv_text = exported(app)
    lines = csv_text.splitlines()
    assert lines[0] == "name,email,phone,external_id,language,timezone,organisation," \
                       "attr:loyalty_tier"
    assert lines[1:] == [
        "Ada,ada@example.com | a2@example.com,'+33612345678,crm-1,fr,Europe/Paris,Acme,gold",
        "\"'=HYPERLINK(\"\"x\"\")\",bob@example.com,,,,,,",  # a formula stays text
        "Cy,cy@example.com,,,,,,"]
    again = start(app, importer, csv_text)
    run(app)
    done = load(app, again.id)
    assert (done.created_count, done.updated_count, done.unchanged_count,
            done.failed_count) == (0, 0, 3, 0)
    assert by_email(app, "bob@example.com").name == '=HYPERLINK("x")'


def test_the_export_follows_the_lists_filters(app, make, importer):
    make.customer("Ada", email="ada@example.com")
    make.customer("Bob", email="bob@example.com")
    ours = make.segment(conditions={"all": [{"field": "email_domain", "op": "is",
                                               "value": "example.com"}]})
    assert [line.split(",")[0] for line in exported(app, search="bob").splitlines()] == [
        "name", "Bob"]
    make.customer("Cy", email="cy@elsewhere.example")
    assert [line.split(",")[0] for line in exported(app, segment_id=ours.id).splitlines()] \
        == ["name", "Ada", "Bob"]


def test_an_attribute_no_longer_defined_is_exported_and_its_reimport_refused(app, importer):
    start(app, importer, "email,attr:vip\nada@example.com,yes\n")
    run(app)
    with app.app_context(), unit_of_work() as uow:
        vip = uow.session.scalar(select(CustomFieldDefinition.id).where(
            CustomFieldDefinition.key == "vip"))
        custom_fields.delete_field(uow, SYSTEM, vip)
    csv_text = exported(app)
    assert csv_text.splitlines() == [
        "name,email,phone,external_id,language,timezone,organisation,attr:vip",
        ",ada@example.com,,,,,,true"]
    with pytest.raises(ValidationFailed, match="column 8 'attr:vip': no customer attribute"):
        start(app, importer, csv_text)
