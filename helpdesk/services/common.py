"""Lookups and checks shared by the services."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from helpdesk.errors import NotFound
from helpdesk.orm import Base

M = TypeVar("M", bound=Base)


def get_or_404(session: Session, model: type[M], ident: int, *, lock: bool = False) -> M:
    """Load one row by id or raise NotFound naming what was missing."""
    obj = session.get(model, ident, with_for_update=lock or None)
    if obj is None:
        raise NotFound(f"{_label(model)} {ident} does not exist", field=f"{_label(model)}_id")
    return obj


def _label(model: type[Base]) -> str:
    return model.__tablename__.removesuffix("s").replace("_", " ").replace(" ", "_")
