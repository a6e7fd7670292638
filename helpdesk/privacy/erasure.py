"""Erasure of a customer's data: everything reached from their record is deleted, in one
transaction, and their files removed once it committed.

Left of them: the customer row itself, blanked (its id keeps the erasure's history row,
the ``customer.erased`` timeline event with counts only), and the help-centre votes they
gave, anonymised (the articles' tallies still count them). The audit log keeps who did what
when to their records, with the details cleared; uploaded customer files (CSV imports)
naming them lose their content, and the problems found in their rows are deleted. The
assistant's unanswered-question entries and the content-gap vectors derived from them are
forgotten with their conversations. Erasing again is harmless: it finds nothing more to
delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import String, Table, and_, cast, or_, select, text, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, DomainError, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    AuditLog,
    Call,
    Conversation,
    Customer,
    DataRequest,
    DataRequestKind,
    TimelineEvent,
)
from helpdesk.models import DataRequestState as State
from helpdesk.orm import utcnow
from helpdesk.privacy import imports, scope
from helpdesk.privacy.exports import Folders, remove_archives
from helpdesk.services.common import get_or_404
from helpdesk.services.conversation_search import INDEX_OBJECTS
from helpdesk.uow import UnitOfWork
from knowledge_base.gaps import forget_customer

CONFIRMATION = "ERASE {customer_id}"
# The customer row keeps its key and dates; every other column goes back to its default.
KEPT_COLUMNS = {"id", "created_at", "updated_at", "merged_into_id"}
# Audit rows about the customer's records, by target type: the table of the target.
AUDITED_TARGETS = {"customer": Customer, "conversation": Conversation, "call": Call}


def check_confirmation(customer_id: int, typed: str) -> None:
    """The staff member typed ``ERASE <id>``: erasure cannot be undone."""
    expected = CONFIRMATION.format(customer_id=customer_id)
    if typed.strip() != expected:
        raise ValidationFailed(f"type {expected!r} to confirm the erasure", field="confirm")


def erase_customer(uow_factory: Callable[[], UnitOfWork], actor: Actor, customer_id: int,
                   confirmation: str, folders: Folders) -> int:
    """Erase the customer's data (``confirmation``: ``ERASE <id>``): the request is stored
    first, the erasure runs all-or-nothing, the files go after its commit. Returns the
    request's id."""
    check_confirmation(customer_id, confirmation)
    with uow_factory() as uow:
        request_id = _store_request(uow, actor, customer_id)
    try:
        with uow_factory() as uow:
            attachments, archives = erase(uow, actor, request_id)
    except Exception as exc:
        _record_failure(uow_factory, request_id, exc)
        raise
    for path in attachments:
        (folders.attachments / path).unlink(missing_ok=True)
    remove_archives(folders.exports, archives)
    with uow_factory() as uow:
        compact_search_index(uow.session)
        uow.commit()
    return request_id


def erase(uow: UnitOfWork, actor: Actor, request_id: int) -> tuple[list[str], list[str]]:
    """Carry out erasure request ``request_id`` in ``uow``, committing it with its counts;
    returns the attachment paths and export archives to remove from disk."""
    request = get_or_404(uow.session, DataRequest, request_id, field="request_id")
    customer = get_or_404(uow.session, Customer, request.customer_id, lock=True)
    _check_erasable(customer)
    files, archives, counts = _erase_rows(uow.session, customer.id)
    request.state, request.counts, request.finished_at = State.DONE, counts, utcnow()
    uow.record(events.CustomerErased(actor=actor, customer_id=customer.id,
                                     request_id=request.id, counts=counts))
    uow.commit()
    return files, archives


def compact_search_index(session: Session) -> None:
    """SQLite's full-text index keeps deleted words until its segments are merged: merge
    them now, so no word of an erased message stays in the file (PostgreSQL's index lives
    in the rows themselves)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for name in sorted(n for n in INDEX_OBJECTS if n.endswith("_fts")):
        # The names are the migration's, never input.
        session.execute(text(f"INSERT INTO {name} ({name}) VALUES ('optimize')"))  # noqa: S608


def _erase_rows(session: Session, customer_id: int) -> tuple[list[str], list[str], dict]:
    """Delete and anonymise; returns the files and archives to remove, and the counts."""
    family = scope.family_ids(session, customer_id)
    where = scope.customer_scope(session, customer_id)
    files, archives = scope.files(session, where), _expire_exports(session, customer_id)
    with _secure_delete(session):
        questions = sum(forget_customer(session, i) for i in family)
        imported = imports.forget(session, imports.identifying_values(session, family))
        anonymised = {"audit_log": _clear_audit_details(session, where),
                      "customer_imports": imported.pop("customer_imports", 0),
                      **scope.anonymise(session, where)}
        scope.detach(session, where)
        deleted = scope.delete_rows(session, where, _spared(customer_id)) | imported
        _blank(session, customer_id)
    if questions:
        deleted["unanswered_questions"] = deleted.get("unanswered_questions", 0) + questions
    return files, archives, {"deleted": deleted, "files": len(files),
                             "anonymised": {k: n for k, n in anonymised.items() if n}}


def _store_request(uow: UnitOfWork, actor: Actor, customer_id: int) -> int:
    _check_erasable(get_or_404(uow.session, Customer, customer_id))
    request = DataRequest(kind=DataRequestKind.ERASURE, customer_id=customer_id,
                          requested_by_id=actor.id, state=State.RUNNING, started_at=utcnow())
    uow.session.add(request)
    uow.commit()
    return request.id


def _check_erasable(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer.id} was merged into customer "
                       f"{customer.merged_into_id}: erase that one (it holds their data)",
                       field="customer_id")


def _expire_exports(session: Session, customer_id: int) -> list[str]:
    """Earlier exports of the customer: their archives are to be deleted, and a build under
    way will throw its archive away."""
    exports = list(session.scalars(select(DataRequest).where(
        DataRequest.customer_id == customer_id, DataRequest.kind == DataRequestKind.EXPORT,
        DataRequest.state.in_((State.PENDING, State.RUNNING, State.DONE)))))
    names = [r.archive_name for r in exports if r.archive_name]
    for request in exports:
        request.state, request.archive_name, request.archive_size = State.EXPIRED, None, None
    session.flush()
    return names


def _clear_audit_details(session: Session, where: scope.Where) -> int:
    """Audit rows keep who acted on which record when, not what the record said (the
    erasures' own rows hold counts only: kept)."""
    about = [and_(AuditLog.target_type == kind, AuditLog.target_id.in_(
        select(model.id).where(where[model.__table__])))
        for kind, model in AUDITED_TARGETS.items() if model.__table__ in where]
    return session.execute(update(AuditLog).where(
        or_(*about), AuditLog.action != events.CustomerErased.timeline_type,
        cast(AuditLog.details, String) != "{}").values(details={})).rowcount


def _spared(customer_id: int) -> dict[Table, Any]:
    """What deletion leaves: the blanked customer row and the erasures' history rows."""
    return {Customer.__table__: Customer.__table__.c.id == customer_id,
            TimelineEvent.__table__: TimelineEvent.__table__.c.type
            == events.CustomerErased.timeline_type}


def _blank(session: Session, customer_id: int) -> None:
    table: Table = Customer.__table__
    values = {column.name: _default(column) for column in table.columns
              if column.name not in KEPT_COLUMNS}
    session.execute(update(table).where(table.c.id == customer_id).values(values))


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


@contextmanager
def _secure_delete(session: Session) -> Iterator[None]:
    """On SQLite, overwrite what is deleted instead of leaving it in the file's free pages."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA secure_delete = ON"))
    try:
        yield
    finally:
        if sqlite:
            session.execute(text("PRAGMA secure_delete = OFF"))


def _record_failure(uow_factory: Callable[[], UnitOfWork], request_id: int,
                    exc: Exception) -> None:
    with uow_factory() as uow:
        request = uow.session.get(DataRequest, request_id)
        request.state, request.finished_at = State.FAILED, utcnow()
        request.error = exc.message if isinstance(exc, DomainError) else type(exc).__name__
        uow.commit()
