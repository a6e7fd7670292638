"""Customers from and to CSV: imports, processed by the worker in batches, and the export.

An upload is checked at once (UTF-8 text, a header of known columns, at least one column
that identifies customers) and stored as sent; the worker then reads it row by row, in
batches committed with their progress. Each row is upserted by identity: the customer
owning one of its email addresses, phone numbers or external id is updated, else one is
created; importing the same file twice creates nothing the second time. A refused row
(its problems are recorded: row, column, what is wrong) changes nothing; the others import.

Columns (any order, names in any case): ``name``, ``email``, ``phone``, ``external_id``,
``language``, ``timezone``, ``organisation`` (its name: an unknown one is created), and
``attr:<key>`` for each customer attribute (defined by admins). An empty cell changes
nothing; a cell may hold several emails or phones separated by ``|``. The export writes the
same columns, so a file exported can be imported again; cells a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``) are prefixed with ``'``, which the import removes.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from helpdesk import events
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    Customer,
    CustomerImport,
    CustomerImportError,
    CustomFieldDefinition,
    FieldSubject,
    FieldType,
    IdentityKind,
    ImportState,
    Organisation,
)
from helpdesk.orm import utcnow
from helpdesk.services import custom_fields, customers, organisations
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import filtered_customers
from helpdesk.uow import UnitOfWork

PROFILE_COLUMNS = ("name", "language", "timezone", "organisation")
IDENTITY_COLUMNS = {"email": IdentityKind.EMAIL, "phone": IdentityKind.PHONE,
                    "external_id": IdentityKind.EXTERNAL}
COLUMNS = ("name", "email", "phone", "external_id", "language", "timezone", "organisation")
ATTRIBUTE_PREFIX = "attr:"
SEPARATOR = "|"  # between several emails or phones in one cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITERS = (",", ";", "\t")
MAX_ROWS = 100_000
MAX_CELL = 1000
MAX_NAME = 200
MAX_FILENAME = 255
BATCH = 200  # rows per transaction
LEASE = timedelta(minutes=5)  # a worker holds an import this long after each batch
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
CHECKBOX = {"true": True, "yes": True, "1": True, "oui": True,
            "false": False, "no": False, "0": False, "non": False}


@dataclass(frozen=True)
class ParsedFile:
    """A checked file: its columns, its data rows with their spreadsheet numbers (the
    header is row 1; blank rows are left out), the definitions of its attribute columns."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    attributes: dict[str, CustomFieldDefinition]


@dataclass
class RowProblems(Exception):
    """What is wrong with one row, cell by cell: (column, message)."""

    problems: list[tuple[str, str]] = field(default_factory=list)


# --- the file ------------------------------------------------------------------------------


def read_file(session: Session, content: bytes) -> ParsedFile:
    """The file's columns and rows, or ValidationFailed (``field`` ``file``) saying what
    makes it unreadable: not UTF-8, no header, an unknown or repeated column, no column
    identifying customers, malformed CSV, too many rows."""
    text = _decoded(content)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text),
                                  strict=True))
    except csv.Error as exc:
        raise ValidationFailed(f"not a readable CSV file: {exc}", field="file") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ValidationFailed("the file is empty: the first line must name the columns, "
                               f"e.g. {','.join(COLUMNS)}", field="file")
    attributes = {d.key: d for d in custom_fields.definitions(session, FieldSubject.CUSTOMER)}
    columns = _checked_header(records[0], set(attributes))
    rows = [(number, record) for number, record in enumerate(records[1:], start=2)
            if any(cell.strip() for cell in record)]
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(f"at most {MAX_ROWS} rows per file; split it", field="file")
    return ParsedFile(columns, rows, attributes)


def _decoded(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        raise ValidationFailed(
            f"the file is not UTF-8 text (byte 0x{content[exc.start]:02x} on line {line}): "
            "save it as \"CSV UTF-8\"", field="file") from None


def _delimiter(text: str) -> str:
    """The header's separator: a comma, or the semicolon or tab some spreadsheets write."""
    header = text.split("\n", 1)[0]
    return max(DELIMITERS, key=header.count)


def _checked_header(header: list[str], attribute_keys: set[str]) -> list[str]:
    columns = [_column(name.strip(), number, attribute_keys)
               for number, name in enumerate(header, start=1)]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValidationFailed(f"column {repeated[0]!r} appears twice in the header",
                               field="file")
    if not set(columns) & set(IDENTITY_COLUMNS):
        raise ValidationFailed("the header needs an email, phone or external_id column: "
                               "rows are matched to customers by them", field="file")
    return columns


def _column(name: str, number: int, attribute_keys: set[str]) -> str:
    if name.lower().startswith(ATTRIBUTE_PREFIX):
        key = name[len(ATTRIBUTE_PREFIX):].strip()
        if key not in attribute_keys:
            raise ValidationFailed(
                f"column {number} {name!r}: no customer attribute has the key {key!r} "
                "(admins define them under Custom fields)", field="file")
        return ATTRIBUTE_PREFIX + key
    if name.lower() not in COLUMNS:
        raise ValidationFailed(
            f"column {number} {name!r} is not one of {', '.join(COLUMNS)}, nor "
            f"{ATTRIBUTE_PREFIX}<attribute key>", field="file")
    return name.lower()


# --- starting an import ----------------------------------------------------------------------


def start_import(uow: UnitOfWork, actor: Actor, *, filename: str,
                 content: bytes) -> CustomerImport:
    """Check the file and store it as sent, for the worker to process."""
    parsed = read_file(uow.session, content)
    if not parsed.rows:
        raise ValidationFailed("the file has a header but no rows", field="file")
    started = CustomerImport(filename=(filename.strip() or "customers.csv")[:MAX_FILENAME],
                             content=content, created_by_id=actor.id,
                             total_rows=len(parsed.rows))
    uow.session.add(started)
    uow.session.flush()
    uow.record(events.StaffChanged(actor=actor, action="customer_import.started",
                                   target_type="customer_import", target_id=started.id,
                                   details={"filename": started.filename,
                                            "rows": started.total_rows}))
    uow.commit()
    return started


def import_errors(session: Session, import_id: int) -> list[CustomerImportError]:
    """The refused rows' problems, in file order."""
    get_or_404(session, CustomerImport, import_id, field="import_id")
    return list(session.scalars(select(CustomerImportError).where(
        CustomerImportError.import_id == import_id)
        .order_by(CustomerImportError.row, CustomerImportError.id)))


def recent_imports(session: Session, limit: int = 20) -> list[CustomerImport]:
    return list(session.scalars(select(CustomerImport).order_by(CustomerImport.id.desc())
                                .limit(limit)))


# --- the worker ------------------------------------------------------------------------------


def run_imports(uow_factory: Callable[[], UnitOfWork], now: datetime, *,
                budget_seconds: float = 5.0) -> int:
    """The worker's job: process the oldest unfinished import nobody else holds, batch after
    batch, for about ``budget_seconds``; returns the rows processed (0: nothing to do)."""
    import_id = claim_import(uow_factory, now)
    if import_id is None:
        return 0
    with uow_factory() as uow:
        parsed = _parsed_or_failed(uow, import_id)
    if parsed is None:
        return 0
    processed, done = 0, False
    deadline = time.monotonic() + budget_seconds
    while not done and time.monotonic() < deadline:
        done, rows = process_batch(uow_factory, import_id, parsed, now)
        processed += rows
    if not done:
        _release(uow_factory, import_id)  # the next turn, of any worker, goes on at once
    return processed


def claim_import(uow_factory: Callable[[], UnitOfWork], now: datetime) -> int | None:
    """Take the oldest unfinished import whose holder's lease ran out (or never held)."""
    free = (CustomerImport.state.in_((ImportState.QUEUED, ImportState.RUNNING)),
            or_(CustomerImport.claimed_until.is_(None), CustomerImport.claimed_until < now))
    with uow_factory() as uow:
        candidate = uow.session.scalar(select(CustomerImport.id).where(*free)
                                       .order_by(CustomerImport.id).limit(1))
        if candidate is None:
            return None
        taken = uow.session.execute(
            update(CustomerImport).where(CustomerImport.id == candidate, *free)
            .values(claimed_until=now + LEASE).execution_options(synchronize_session=False))
        uow.commit()
    return candidate if taken.rowcount == 1 else None


def process_batch(uow_factory: Callable[[], UnitOfWork], import_id: int, parsed: ParsedFile,
                  now: datetime) -> tuple[bool, int]:
    """Import the next ``BATCH`` rows in one transaction with the progress; returns whether
    the import is finished and how many rows this took."""
    with uow_factory() as uow:
        job = get_or_404(uow.session, CustomerImport, import_id, lock=True)
        batch = parsed.rows[job.processed_rows:job.processed_rows + BATCH]
        actor = Actor("agent", job.created_by_id) if job.created_by_id else events.SYSTEM
        with uow.one_transaction():
            for number, record in batch:
                _count(job, _import_row(uow, actor, job, parsed, number, record))
            job.processed_rows += len(batch)
            job.state, job.claimed_until = ImportState.RUNNING, now + LEASE
            if job.processed_rows >= len(parsed.rows):
                job.state, job.finished_at, job.claimed_until = ImportState.DONE, utcnow(), None
        return job.finished, len(batch)


def _release(uow_factory: Callable[[], UnitOfWork], import_id: int) -> None:
    with uow_factory() as uow:
        get_or_404(uow.session, CustomerImport, import_id, lock=True).claimed_until = None
        uow.commit()


def _parsed_or_failed(uow: UnitOfWork, import_id: int) -> ParsedFile | None:
    """The stored file, read again; one that no longer reads (attribute definitions
    deleted since) fails the import, saying why."""
    job = get_or_404(uow.session, CustomerImport, import_id)
    try:
        parsed = read_file(uow.session, job.content)
    except ValidationFailed as exc:
        job.state, job.error, job.finished_at = ImportState.FAILED, exc.message, utcnow()
        uow.commit()
        return None
    for definition in parsed.attributes.values():
        uow.session.expunge(definition)  # read by every batch, each in its own session
    return parsed


def _count(job: CustomerImport, outcome: str) -> None:
    counter = f"{outcome}_count"
    setattr(job, counter, getattr(job, counter) + 1)


def _import_row(uow: UnitOfWork, actor: Actor, job: CustomerImport, parsed: ParsedFile,
                number: int, record: list[str]) -> str:
    """Upsert one row in a savepoint: ``created``, ``updated``, ``unchanged`` or ``failed``
    (its problems stored, its changes and events undone)."""
    mark = len(uow.events)
    try:
        with uow.session.begin_nested():
            return _upsert(uow, actor, job, number, _row_values(parsed, record))
    except RowProblems as refused:
        problems = refused.problems
    except DomainError as exc:
        problems = [(_column_of(exc.field), exc.message)]
    except IntegrityError:
        problems = [("", "another change to the same customers happened at the same time; "
                         "import the file again")]
    del uow.events[mark:]
    uow.session.add_all(CustomerImportError(import_id=job.id, row=number, column=column,
                                            message=message) for column, message in problems)
    return "failed"


def _column_of(service_field: str | None) -> str:
    """The column a service's error names (``attributes.tier`` → ``attr:tier``)."""
    name = service_field or ""
    if name.startswith("attributes."):
        return ATTRIBUTE_PREFIX + name.removeprefix("attributes.")
    return {"value": "", "organisation_id": "organisation"}.get(name, name)


# --- one row ---------------------------------------------------------------------------------


@dataclass
class RowValues:
    identities: list[tuple[str, IdentityKind, str]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)  # name, language, timezone
    attributes: dict[str, Any] = field(default_factory=dict)
    organisation: str = ""  # its name


def _row_values(parsed: ParsedFile, record: list[str]) -> RowValues:
    """The row's cells, checked and typed; RowProblems lists every bad cell."""
    if len(record) > len(parsed.columns):
        raise RowProblems([("", f"the row has {len(record)} cells, the header "
                                f"{len(parsed.columns)} columns")])
    values, problems = RowValues(), RowProblems()
    for column, raw in zip(parsed.columns, record, strict=False):
        cell = _unescaped(raw.strip())
        try:
            _read_cell(values, column, cell, parsed.attributes)
        except (ValidationFailed, ValueError) as exc:
            problems.problems.append((column, getattr(exc, "message", str(exc))))
    if not values.identities and not problems.problems:
        problems.problems.append(("email", "the row needs an email, a phone or an external_id "
                                           "to find or create its customer"))
    if problems.problems:
        raise problems
    return values


def _read_cell(values: RowValues, column: str, cell: str,
               definitions: dict[str, CustomFieldDefinition]) -> None:
    if not cell:
        return  # an empty cell changes nothing
    if len(cell) > MAX_CELL:
        raise ValueError(f"at most {MAX_CELL} characters")
    if column in IDENTITY_COLUMNS:
        kind = IDENTITY_COLUMNS[column]
        values.identities += [(column, kind, customers.normalize_identity(kind, part))
                              for part in cell.split(SEPARATOR) if part.strip()]
    elif column.startswith(ATTRIBUTE_PREFIX):
        key = column.removeprefix(ATTRIBUTE_PREFIX)
        values.attributes[key] = _attribute(definitions[key], cell)
    elif column == "organisation":
        values.organisation = _name(cell)
    else:
        values.profile[column] = PROFILE_CHECKS[column](cell)


def _name(cell: str) -> str:
    if len(cell) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters")
    return cell


def _language(cell: str) -> str:
    if not LANGUAGE_TAG.match(cell) or len(cell) > 16:
        raise ValueError(f"{cell!r} is not a language tag such as fr or pt-BR")
    return cell


def _timezone(cell: str) -> str:
    if cell not in _timezones():
        raise ValueError(f"{cell!r} is not an IANA time zone name such as Europe/Paris")
    return cell


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


PROFILE_CHECKS: dict[str, Callable[[str], str]] = {
    "name": _name, "language": _language, "timezone": _timezone}


def _attribute(definition: CustomFieldDefinition, cell: str) -> Any:
    """A cell as the attribute's type (checked by the attribute's own rules later)."""
    if definition.type == FieldType.CHECKBOX:
        if cell.lower() not in CHECKBOX:
            raise ValueError("must be true or false (or yes/no, 1/0)")
        return CHECKBOX[cell.lower()]
    return custom_fields.form_value(definition, cell)


def _upsert(uow: UnitOfWork, actor: Actor, job: CustomerImport, number: int,
            values: RowValues) -> str:
    customer = _owner(uow.session, values)
    if customer is None:
        customer = customers.create_customer(
            uow, actor, identities=[(kind, value) for _c, kind, value in values.identities],
            **_profile(uow, actor, values))
        outcome = "created"
    else:
        outcome = _update(uow, actor, customer, values)
    if outcome != "unchanged":
        uow.record(events.CustomerImported(actor=actor, customer_id=customer.id,
                                           import_id=job.id, row=number,
                                           created=outcome == "created"))
    return outcome


def _owner(session: Session, values: RowValues) -> Customer | None:
    """The one customer the row's identities belong to; RowProblems when they belong to
    several (merge them first)."""
    owners: dict[int, tuple[str, Customer]] = {}
    for column, kind, value in values.identities:
        found = customers.find_by_identity(session, kind, value)
        if found is not None:
            owners.setdefault(found.id, (column, found))
    if len(owners) > 1:
        (first, a), (second, b) = list(owners.values())[:2]
        raise RowProblems([(second, f"{second} belongs to customer #{b.id} but {first} to "
                                    f"customer #{a.id}: merge them first")])
    return next(iter(owners.values()))[1] if owners else None


def _profile(uow: UnitOfWork, actor: Actor, values: RowValues) -> dict[str, Any]:
    """The row's profile fields: attributes, and the organisation (created when new)."""
    profile = dict(values.profile)
    if values.attributes:
        profile["attributes"] = values.attributes
    if values.organisation:
        profile["organisation_id"] = _organisation_id(uow, actor, values.organisation)
    return profile


def _organisation_id(uow: UnitOfWork, actor: Actor, name: str) -> int:
    """The organisation of that name (in any case), created when there is none."""
    found = uow.session.scalar(select(Organisation.id).where(
        func.lower(Organisation.name) == name.lower()))
    return found or organisations.create_organisation(uow, actor, name=name).id


def _update(uow: UnitOfWork, actor: Actor, customer: Customer, values: RowValues) -> str:
    mark = len(uow.events)
    profile = _profile(uow, actor, values)
    customers.update_customer(uow, actor, customer.id, **profile)
    for _column, kind, value in values.identities:
        if customers.find_by_identity(uow.session, kind, value) is None:
            customers.add_identity(uow, actor, customer.id, kind, value)
    return "updated" if len(uow.events) > mark else "unchanged"


def _unescaped(cell: str) -> str:
    """A cell without the ``'`` the export puts before what looks like a formula."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_STARTS else cell


# --- the export ------------------------------------------------------------------------------


def export_lines(sessions: sessionmaker[Session], *, search: str | None = None,
                 segment_id: int | None = None) -> Iterator[str]:
    """The customers matching the list's filters as CSV lines (header first), in the
    import's columns; the customers are read in chunks, so any number streams.

    The lines are read through a session of their own, closed when the stream ends or is
    abandoned: a request's session is gone before its streamed body is read."""
    with sessions() as session:
        yield from _export_lines(session, search, segment_id)


def _export_lines(session: Session, search: str | None,
                  segment_id: int | None) -> Iterator[str]:
    query = filtered_customers(session, search=search, segment_id=segment_id)
    keys = _attribute_keys(session, query)
    yield csv_line([*COLUMNS, *(ATTRIBUTE_PREFIX + key for key in keys)])
    rows = session.scalars(query.options(selectinload(Customer.identities),
                                         selectinload(Customer.organisation))
                           .order_by(Customer.id).execution_options(yield_per=500))
    for customer in rows:
        yield csv_line(_export_row(customer, keys))


def _attribute_keys(session: Session, query: Any) -> list[str]:
    defined = [d.key for d in custom_fields.definitions(session, FieldSubject.CUSTOMER)]
    used: set[str] = set()
    for attributes in session.scalars(query.with_only_columns(Customer.attributes)
                                      .execution_options(yield_per=1000)):
        used.update(attributes or {})
    return [key for key in defined if key in used] + sorted(used - set(defined))


def _export_row(customer: Customer, keys: list[str]) -> list[str]:
    def joined(kind: IdentityKind) -> str:
        return f" {SEPARATOR} ".join(customer.identity_values(kind))
    organisation = customer.organisation.name if customer.organisation else ""
    profile = [customer.name, joined(IdentityKind.EMAIL), joined(IdentityKind.PHONE),
               joined(IdentityKind.EXTERNAL), customer.language or "",
               customer.timezone or "", organisation]
    return profile + [_exported_value(customer.attributes.get(key)) for key in keys]


def _exported_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def csv_line(cells: list[str]) -> str:
    """One CSV line, formula-looking cells made text (a spreadsheet must not run them)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell for cell in cells)
    return buffer.getvalue()
