"""Lookups and checks shared by the services."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Insert, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.orm import Base

M = TypeVar("M", bound=Base)
E = TypeVar("E", bound=StrEnum)


def get_or_404(session: Session, model: type[M], ident: int, *, lock: bool = False,
               field: str | None = None) -> M:
    """Load one row by id or raise NotFound naming what was missing (``field``: the input
    that carried the id, when it is not ``<model>_id``).

    ``lock`` serialises the writers of this row until commit and re-reads it even when
    the session already holds it, so the caller decides on the committed state.
    """
    if lock and (mine := _held_here(session, model, ident)) is not None:
        return mine
    if lock:
        take_sqlite_write_lock(session, model, [ident])
    obj = session.get(model, ident, with_for_update=lock or None, populate_existing=lock)
    if obj is None:
        raise _not_found(model, ident, field)
    return obj


# Rows this session's transaction holds: inserted by it, or locked by ``existing_locked_rows``
# outside any savepoint (a lock taken in a savepoint goes when the savepoint is rolled back).
# Nobody else can change them before the commit, so locking and re-reading one would only
# cost a query.
_HELD = "comptoir.held"


@event.listens_for(Session, "pending_to_persistent")
def _note_inserted(session: Session, instance: object) -> None:
    session.info.setdefault(_HELD, set()).add(inspect(instance).identity_key)


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a savepoint's rows stay the transaction's
        session.info.pop(_HELD, None)


def _held_here(session: Session, model: type[M], ident: int) -> M | None:
    key = identity_key(model, ident)
    if key not in session.info.get(_HELD, ()):
        return None
    obj = session.identity_map.get(key)  # gone when a savepoint rolled its insert back
    return obj if obj is not None and not inspect(obj).expired else None


def _not_found(model: type[Base], ident: int, field: str | None = None) -> NotFound:
    label = _label(model)
    return NotFound(f"{label.replace('_', ' ')} {ident} does not exist",
                    field=field or f"{label}_id")


def locked_rows(session: Session, model: type[M], idents: Sequence[int]) -> list[M]:
    """``get_or_404(..., lock=True)`` for many rows at once, in id order (so two callers
    never wait on each other crosswise); the first id missing raises NotFound."""
    rows = existing_locked_rows(session, model, idents)
    missing = sorted(set(idents) - {row.id for row in rows})  # type: ignore[attr-defined]
    if missing:
        raise _not_found(model, missing[0])
    return rows


def existing_locked_rows(session: Session, model: type[M], idents: Sequence[int]) -> list[M]:
    """``locked_rows`` leaving out the ids that name no row."""
    ordered = sorted(set(idents))
    if not ordered:
        return []
    take_sqlite_write_lock(session, model, ordered)
    rows = list(session.scalars(
        select(model).where(model.id.in_(ordered)).order_by(model.id)  # type: ignore[attr-defined]
        .with_for_update().execution_options(populate_existing=True)))
    if not session.in_nested_transaction():
        session.info.setdefault(_HELD, set()).update(inspect(r).identity_key for r in rows)
    return rows


def insert_unless_present(session: Session, model: type[Base], key: str) -> Insert:
    """INSERT … ON CONFLICT (``key``) DO NOTHING: of concurrent inserts of one key, one row
    is created and the others insert nothing, without failing the transaction (on SQLite
    the statement also takes the write lock, which FOR UPDATE would not)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing(index_elements=[key])


def take_sqlite_write_lock(session: Session, model: type[Base], idents: Sequence[int]) -> None:
    """SQLite ignores FOR UPDATE; a write statement takes its database-wide write lock
    (held to commit) so the read that follows is not stale."""
    if session.get_bind().dialect.name == "sqlite":
        table = model.__table__
        session.execute(update(table).where(table.c.id.in_(idents)).values(id=table.c.id))


def _label(model: type[Base]) -> str:
    """The singular of a model's table name: ``identities`` → ``identity``."""
    table = model.__tablename__
    if table.endswith("ies"):
        return table.removesuffix("ies") + "y"
    return table.removesuffix("s")


def checked_enum(enum: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``enum``, or ValidationFailed listing the accepted values."""
    try:
        return enum(value)
    except ValueError:
        accepted = ", ".join(m.value for m in enum)
        raise ValidationFailed(f"{value!r} is not one of {accepted}", field=field) from None


def unique_in_scope(session: Session, row: Any, name: str, *, label: str,
                    max_length: int = 100) -> str:
    """``name`` trimmed, of 1 to ``max_length`` characters, and no other row's of the same
    model in the row's scope (shared: no ``owner_id``; personal: the same owner)."""
    model = type(row)
    name = name.strip()
    if not name or len(name) > max_length:
        raise ValidationFailed(f"a {label}'s name has 1 to {max_length} characters",
                               field="name")
    scope = model.owner_id.is_(None) if row.owner_id is None else model.owner_id == row.owner_id
    others = [model.id != row.id] if row.id is not None else []
    if session.scalar(select(model.id).where(scope, model.name == name, *others)) is not None:
        raise Conflict(f"a {label} named {name!r} exists already", field="name")
    return name
