"""Exports of a customer's data: asked for, built (at once when small, else by the worker),
downloaded (audited), and deleted after ``ARCHIVE_DAYS``.

Store first, then process: the request is stored before anything is built; a worker claims
it with a conditional update, so two workers never build one twice, and one that died
half-way is replaced after ``STALE_RUN``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, NotFound
from helpdesk.events import Actor
from helpdesk.models import Attachment, Customer, DataRequest, DataRequestKind
from helpdesk.models import DataRequestState as State
from helpdesk.orm import utcnow
from helpdesk.privacy import scope
from helpdesk.privacy.archive import write_archive
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

log = logging.getLogger(__name__)
ARCHIVE_DAYS = 7  # an archive of personal data is not left lying around
STALE_RUN = timedelta(hours=1)
# Built at once in the request when this small; the worker builds anything larger.
INLINE_MAX_ROWS = 5000
INLINE_MAX_FILE_BYTES = 20 * 1024 * 1024
WORKER_BATCH = 5


@dataclass(frozen=True)
class Folders:
    """Where archives are written, and where the attachments they copy are stored."""

    exports: Path
    attachments: Path


def request_export(uow: UnitOfWork, actor: Actor, customer_id: int) -> DataRequest:
    """Store a request for an archive of the customer's data (built next)."""
    customer = get_or_404(uow.session, Customer, customer_id)
    request = DataRequest(kind=DataRequestKind.EXPORT, customer_id=customer.id,
                          requested_by_id=actor.id)
    uow.session.add(request)
    uow.session.flush()
    uow.record(events.CustomerExportRequested(actor=actor, customer_id=customer.id,
                                              request_id=request.id))
    uow.commit()
    return request


def is_small(session: Session, customer_id: int) -> bool:
    """Whether building the customer's archive fits in a web request."""
    where = scope.customer_scope(session, customer_id)
    files = session.scalar(select(func.coalesce(func.sum(Attachment.size), 0))
                           .where(where[Attachment.__table__]))
    return files <= INLINE_MAX_FILE_BYTES \
        and sum(scope.count(session, where).values()) <= INLINE_MAX_ROWS


def build(uow_factory: Callable[[], UnitOfWork], request_id: int, folders: Folders) -> bool:
    """Build one export if it still waits (claimed first); False when another worker has
    it or it is no longer wanted. A failure is recorded on the request, not raised."""
    with uow_factory() as uow:
        customer_id = _claim(uow, request_id, utcnow())
    if customer_id is None:
        return False
    path = folders.exports / f"customer-{customer_id}-{request_id}-{secrets.token_hex(8)}.zip"
    try:
        counts = _write(uow_factory, customer_id, path, folders)
    except Exception as exc:  # whatever broke, the request must not stay "running"
        log.exception("export %s failed", request_id)
        path.unlink(missing_ok=True)
        _finish(uow_factory, request_id, state=State.FAILED, error=type(exc).__name__)
        return True
    if not _finish(uow_factory, request_id, state=State.DONE, counts={"exported": counts},
                   archive_name=path.name, archive_size=path.stat().st_size):
        path.unlink(missing_ok=True)  # the customer was erased while it was being built
    return True


def build_waiting(uow_factory: Callable[[], UnitOfWork], folders: Folders,
                  now: datetime) -> int:
    """The worker's job: build the waiting exports; returns how many it built."""
    with uow_factory() as uow:
        waiting = list(uow.session.scalars(select(DataRequest.id).where(_claimable(now))
                                           .order_by(DataRequest.id).limit(WORKER_BATCH)))
    return sum(build(uow_factory, request_id, folders) for request_id in waiting)


def expire_archives(uow: UnitOfWork, exports: Path, now: datetime) -> int:
    """Delete the archives older than ``ARCHIVE_DAYS`` (after the commit that forgets
    them); returns how many."""
    old = list(uow.session.scalars(select(DataRequest).where(
        DataRequest.state == State.DONE, DataRequest.archive_name.is_not(None),
        DataRequest.finished_at < now - timedelta(days=ARCHIVE_DAYS))))
    names = [request.archive_name for request in old]
    for request in old:
        request.state, request.archive_name = State.EXPIRED, None
    uow.commit()
    remove_archives(exports, names)
    return len(old)


def remove_archives(exports: Path, names: list[str]) -> None:
    for name in names:
        (exports / name).unlink(missing_ok=True)


def archive_to_download(uow: UnitOfWork, actor: Actor, request_id: int,
                        exports: Path) -> tuple[Path, str]:
    """The archive of a finished export and the name to download it as; the download is
    recorded in the audit log."""
    request = get_or_404(uow.session, DataRequest, request_id, field="request_id")
    if request.kind != DataRequestKind.EXPORT or request.state != State.DONE \
            or request.archive_name is None:
        raise Conflict(f"data request {request_id} has no archive to download "
                       f"({request.kind.value}, {request.state.value})", field="request_id")
    path = exports / request.archive_name
    if not path.is_file():
        raise NotFound(f"the archive of data request {request_id} is gone", field="request_id")
    uow.record(events.StaffChanged(actor=actor, action="data_request.downloaded",
                                   target_type="data_request", target_id=request.id,
                                   details={"customer_id": request.customer_id}))
    uow.commit()
    return path, f"customer-{request.customer_id}-data-{request.id}.zip"


def _write(uow_factory: Callable[[], UnitOfWork], customer_id: int, path: Path,
           folders: Folders) -> dict[str, int]:
    folders.exports.mkdir(parents=True, exist_ok=True)
    with uow_factory() as uow:
        return write_archive(uow.session, scope.customer_scope(uow.session, customer_id),
                             customer_id, path, folders.attachments)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Waiting exports, or those a worker started and left (it died) long ago."""
    return and_(DataRequest.kind == DataRequestKind.EXPORT, or_(
        DataRequest.state == State.PENDING,
        and_(DataRequest.state == State.RUNNING, DataRequest.started_at < now - STALE_RUN)))


def _claim(uow: UnitOfWork, request_id: int, now: datetime) -> int | None:
    """Take the request for this worker: its customer's id, or None when not claimable."""
    claimed = uow.session.scalar(
        update(DataRequest).where(DataRequest.id == request_id, _claimable(now))
        .values(state=State.RUNNING, started_at=now).returning(DataRequest.customer_id)
        .execution_options(synchronize_session=False))
    uow.commit()
    return claimed


def _finish(uow_factory: Callable[[], UnitOfWork], request_id: int, **values: object) -> bool:
    """Record the outcome of a running request; False if it no longer runs (an erasure
    expired it meanwhile)."""
    with uow_factory() as uow:
        finished = uow.session.execute(
            update(DataRequest).where(DataRequest.id == request_id,
                                      DataRequest.state == State.RUNNING)
            .values(finished_at=utcnow(), **values)
            .execution_options(synchronize_session=False)).rowcount
        uow.commit()
    return bool(finished)
