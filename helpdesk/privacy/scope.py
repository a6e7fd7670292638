"""Where a customer's data lives: every row reached from their record through foreign keys.

The tables are read from the models' metadata, so a table added later that references a
customer, a conversation, a message (or any row already in the scope) is exported and
erased without a change here. A row is in the scope when one of its foreign keys points at
a row in it (the customer → their conversations → their messages → …), or when the roots
name it. A self-reference never brings a row in: a conversation merged into one of theirs
stays its own customer's and only loses the link (``detach``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.models import (
    Conversation,
    ConversationParticipant,
    Customer,
    Identity,
    IdentityKind,
    InboundEmail,
)
from helpdesk.orm import Base

Where = dict[Table, ColumnElement[bool]]
CUSTOMERS: Table = Customer.__table__
# Files whose path a column holds: removed from disk once their rows are gone.
FILE_COLUMNS = {"attachments": "storage_path"}
# Rows kept but cut from the person, by table: the values they get. The help centre's
# tallies still count the votes.
ANONYMISED = {"article_feedback": {"customer_id": None, "comment": ""}}
SCAN_BATCH = 200


def reach(roots: Where) -> Where:
    """Every table holding rows of the scope, with the condition that selects them."""
    where: Where = {}
    for table in Base.metadata.sorted_tables:  # referenced tables first
        links = [fk.parent.in_(select(fk.column).where(where[fk.column.table]))
                 for fk in table.foreign_keys
                 if fk.column.table in where and fk.column.table is not table]
        if table in roots:
            links.append(roots[table])
        if links:
            where[table] = or_(*links)
    return where


def customer_scope(session: Session, customer_id: int) -> Where:
    """The customer's data, and that of the customers merged into them (the same person):
    with their conversations, the loose emails they sent or that bounced back to them, and
    their place among the people copied on others' conversations."""
    family = family_ids(session, customer_id)
    emails = list(session.scalars(select(Identity.value).where(
        Identity.customer_id.in_(family), Identity.kind == IdentityKind.EMAIL)))
    return reach({
        CUSTOMERS: CUSTOMERS.c.id.in_(family),
        InboundEmail.__table__: InboundEmail.__table__.c.id.in_(loose_emails(session, emails)),
        ConversationParticipant.__table__: ConversationParticipant.__table__.c.email.in_(emails),
    })


def conversations_scope(conversation_ids: Iterable[int]) -> Where:
    """Some conversations and everything hanging from them (retention)."""
    table: Table = Conversation.__table__
    return reach({table: table.c.id.in_(list(conversation_ids))})


def family_ids(session: Session, customer_id: int) -> list[int]:
    """The customer and every customer merged into them, directly or through another."""
    found, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(session.scalars(select(Customer.id).where(
            Customer.merged_into_id.in_(frontier), Customer.id.not_in(found))))
        found += frontier
    return found


def loose_emails(session: Session, addresses: list[str]) -> list[int]:
    """Received emails in no conversation (quarantined, bounced, automatic replies) whose
    source names one of ``addresses``."""
    return naming(session, InboundEmail.id, InboundEmail.raw,
                  InboundEmail.conversation_id.is_(None), addresses)


def naming(session: Session, key: ColumnElement[int], data: ColumnElement[bytes],
           condition: ColumnElement[bool], values: list[str]) -> list[int]:
    """The ``key`` of the rows matching ``condition`` whose ``data`` (bytes) holds one of
    ``values``, ignoring case: read in batches, as only the bytes tell."""
    needles = [value.lower().encode() for value in values]
    if not needles:
        return []
    rows = session.execute(select(key, data).where(condition)
                           .execution_options(yield_per=SCAN_BATCH))
    return [ident for ident, raw in rows if any(n in raw.lower() for n in needles)]


def count(session: Session, where: Where) -> dict[str, int]:
    """Rows of the scope per table (those holding some)."""
    counts = {table.name: session.scalar(select(func.count()).select_from(table).where(condition))
              for table, condition in where.items()}
    return {name: n for name, n in counts.items() if n}


def files(session: Session, where: Where) -> list[str]:
    """The stored files of the scope's rows, as the rows name them."""
    return [path for table, condition in where.items() if table.name in FILE_COLUMNS
            for path in session.scalars(select(table.c[FILE_COLUMNS[table.name]])
                                        .where(condition))]


def detach(session: Session, where: Where) -> None:
    """Clear the self-references that rows outside the scope hold to rows inside it."""
    for table, condition in where.items():
        for fk in table.foreign_keys:
            if fk.column.table is table:
                in_scope = select(fk.column).where(condition)  # fk.column: the rows' own key
                session.execute(update(table).where(fk.parent.in_(in_scope),
                                                    fk.column.not_in(in_scope))
                                .values({fk.parent.name: None}))


def anonymise(session: Session, where: Where) -> dict[str, int]:
    """Cut the ``ANONYMISED`` tables' rows from the person; returns how many per table. Run
    it before ``delete_rows``: the rows then no longer match the scope."""
    counts = {table.name: session.execute(update(table).where(where[table])
                                          .values(ANONYMISED[table.name])).rowcount
              for table in where if table.name in ANONYMISED}
    return {name: n for name, n in counts.items() if n}


def delete_rows(session: Session, where: Where,
                spared: dict[Table, ColumnElement[bool]] | None = None) -> dict[str, int]:
    """Delete the scope's rows, referencing tables first, but for ``spared`` rows; returns
    the rows deleted per table (those with some)."""
    counts = {}
    for table in reversed(Base.metadata.sorted_tables):
        if table in where:
            keep = (spared or {}).get(table)
            condition = where[table] if keep is None else where[table] & ~keep
            counts[table.name] = session.execute(delete(table).where(condition)).rowcount
    return {name: n for name, n in counts.items() if n}
