"""Customer imports: an uploaded CSV file, kept as sent, processed by the worker in batches;
the rows it refused, with why."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class ImportState(StrEnum):
    QUEUED = "queued"  # stored, waiting for the worker
    RUNNING = "running"  # the worker has processed its first ``processed_rows``
    DONE = "done"
    FAILED = "failed"  # the file itself could not be read (``error``)


class CustomerImport(Base):
    __tablename__ = "customer_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the file as uploaded
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[ImportState] = mapped_column(enum_type(ImportState),
                                               default=ImportState.QUEUED, index=True)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)  # data rows, in file order
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    # A worker processing it holds it until then: another takes over only a dead one's.
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)


class CustomerImportError(Base):
    """One problem in a refused row (``row``: as a spreadsheet numbers it, the header is 1)."""

    __tablename__ = "customer_import_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("customer_imports.id", ondelete="CASCADE"), index=True)
    row: Mapped[int]
    column: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
