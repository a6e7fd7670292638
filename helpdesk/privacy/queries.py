"""The read side of privacy requests: the list, a customer's last erasure."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.models import DataRequest, DataRequestKind, DataRequestState
from helpdesk.services.queries import Page, paginate


def data_requests(session: Session, *, customer_id: int | None = None, page: int = 1,
                  per_page: int = 25) -> Page[DataRequest]:
    """Exports and erasures, newest first (``customer_id``: one customer's)."""
    query = select(DataRequest).order_by(DataRequest.id.desc())
    if customer_id is not None:
        query = query.where(DataRequest.customer_id == customer_id)
    return paginate(session, query, page, per_page)


def last_erasure(session: Session, customer_id: int) -> DataRequest | None:
    """The customer's latest completed erasure, if their data was erased."""
    return session.scalar(select(DataRequest).where(
        DataRequest.customer_id == customer_id, DataRequest.kind == DataRequestKind.ERASURE,
        DataRequest.state == DataRequestState.DONE).order_by(DataRequest.id.desc()).limit(1))
