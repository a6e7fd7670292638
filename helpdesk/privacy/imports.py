"""Customer files imported from CSV: the rows that name a customer, and the problems the
import found in them.

No foreign key ties an uploaded file to the customers it names: a row is theirs when one
of its cells holds one of their email addresses, phone numbers or external ids (ignoring
case). Rows are numbered as the import numbers them (the header is row 1, each CSV record
one row), so the refused rows' problems are found by their number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.models import (
    CustomerImport,
    CustomerImportError,
    Identity,
    IdentityKind,
    ImportState,
)
from helpdesk.privacy.scope import naming
from helpdesk.services.customer_imports import DELIMITERS

# What an uploaded customer file names them by.
NAMED_BY = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.EXTERNAL)
FINISHED = (ImportState.DONE, ImportState.FAILED)


@dataclass
class NamedRow:
    """One row of an uploaded file naming the customer, with the problems found in it."""

    import_id: int
    filename: str
    row: int
    cells: dict[str, str]
    problems: list[dict[str, str]] = field(default_factory=list)


def identifying_values(session: Session, customer_ids: Iterable[int]) -> list[str]:
    """The customers' values an uploaded file can name them by."""
    return list(session.scalars(select(Identity.value).where(
        Identity.customer_id.in_(list(customer_ids)), Identity.kind.in_(NAMED_BY))))


def imports_naming(session: Session, values: list[str], *, finished: bool = True) -> list[int]:
    """The imports whose file holds one of ``values`` (``finished``: only those done or
    failed; a running import still reads its file)."""
    condition = CustomerImport.state.in_(FINISHED) if finished else CustomerImport.id.is_not(None)
    return naming(session, CustomerImport.id, CustomerImport.content, condition, values)


def named_rows(session: Session, values: list[str]) -> list[NamedRow]:
    """Every row of the uploaded files that names one of ``values``, with its problems."""
    found = []
    for import_id in imports_naming(session, values, finished=False):
        job = session.get(CustomerImport, import_id)
        rows = {number: cells for number, cells in _rows(job.content)
                if _names(cells.values(), values)}
        problems = session.scalars(select(CustomerImportError).where(
            CustomerImportError.import_id == import_id,
            CustomerImportError.row.in_(list(rows))).order_by(CustomerImportError.id))
        by_row: dict[int, list[dict[str, str]]] = {}
        for problem in problems:
            by_row.setdefault(problem.row, []).append(
                {"column": problem.column, "message": problem.message})
        found += [NamedRow(import_id, job.filename, number, cells, by_row.get(number, []))
                  for number, cells in sorted(rows.items())]
    return found


def forget(session: Session, values: list[str]) -> dict[str, int]:
    """Delete the problems found in the rows naming ``values`` and empty the files holding
    them (the imports' records and counts stay); returns the rows changed per table."""
    ids = imports_naming(session, values)
    if not ids:
        return {}
    rows = [(job.id, number) for job in session.scalars(
        select(CustomerImport).where(CustomerImport.id.in_(ids)))
        for number, cells in _rows(job.content) if _names(cells.values(), values)]
    errors = session.execute(delete(CustomerImportError).where(or_(*(
        (CustomerImportError.import_id == import_id) & (CustomerImportError.row == number)
        for import_id, number in rows)))).rowcount if rows else 0
    files = session.execute(update(CustomerImport).where(CustomerImport.id.in_(ids))
                            .values(content=b"")).rowcount
    return {name: n for name, n in (("customer_imports", files),
                                    ("customer_import_errors", errors)) if n}


def _rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows by number, each a dict of header → cell (a cell beyond the
    header under its position). A file that does not read as CSV has none."""
    text = content.decode("utf-8-sig", errors="replace")
    header_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return []
    if not records:
        return []
    header = [name.strip() for name in records[0]]
    return [(number, {header[i] if i < len(header) and header[i] else f"column {i + 1}": cell
                      for i, cell in enumerate(record)})
            for number, record in enumerate(records[1:], start=2)]


def _names(cells: Iterable[str], values: list[str]) -> bool:
    text = "\n".join(cells).lower()
    return any(value.lower() in text for value in values)
