"""Saved views: a named set of inbox filters, personal (its owner alone sees and manages
it) or shared (every agent sees it; supervisors and admins manage it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Channel, ConversationStatus, Priority, Queue, SavedView, User
from helpdesk.services import segments
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import (
    ConversationFilter,
    Page,
    Sort,
    count_conversations,
    list_conversations,
)
from helpdesk.uow import UnitOfWork

MAX_NAME = 100
MAX_QUERY = 200
MAX_TAG = 64
ME, UNASSIGNED = "me", "unassigned"
SHARED_REFUSED = "only supervisors and admins manage shared views (views:manage)"


@dataclass(frozen=True)
class ViewFilters:
    """What a view shows; every filter optional. ``assignee``: ``"me"`` (whoever looks),
    ``"unassigned"`` or a user id. No ``statuses``: any status."""

    statuses: list[ConversationStatus] = field(default_factory=list)
    queue_id: int | None = None
    assignee: str | int | None = None
    tag: str | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    q: str | None = None
    sort: Sort | None = None
    segment_id: int | None = None  # customers of this segment (helpdesk.services.segments)

    def for_user(self, user_id: int) -> ConversationFilter:
        """The list filter as ``user_id`` sees the view ("me" is them)."""
        assignee = user_id if self.assignee == ME else self.assignee
        return ConversationFilter(
            statuses=list(self.statuses), queue_id=self.queue_id,
            assignee_id=assignee if isinstance(assignee, int) else None,
            unassigned=self.assignee == UNASSIGNED, channel=self.channel,
            priority=self.priority, tag=self.tag, search=self.q, segment_id=self.segment_id)

    def to_json(self) -> dict[str, Any]:
        """The filters as stored: set ones only, enums by value."""
        stored = {key: value for key, value in asdict(self).items() if value not in (None, [])}
        return {key: ([s.value for s in value] if key == "statuses" else
                      getattr(value, "value", value)) for key, value in stored.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViewFilters:
        """Stored filters back (written by ``checked``, so valid)."""
        enums = {"channel": Channel, "priority": Priority, "sort": Sort}
        values = {key: enums[key](value) if key in enums else value
                  for key, value in data.items() if key in cls.__dataclass_fields__}
        values["statuses"] = [ConversationStatus(s) for s in data.get("statuses", [])]
        return cls(**values)


def visible_views(session: Session, user_id: int) -> list[SavedView]:
    """The shared views, then the user's own, each by name."""
    return list(session.scalars(
        select(SavedView).where(or_(SavedView.owner_id.is_(None), SavedView.owner_id == user_id))
        .order_by(SavedView.owner_id.is_not(None), SavedView.name, SavedView.id)))


def visible_view(session: Session, user_id: int, view_id: int) -> SavedView:
    """One view the user sees; another's personal view does not exist for them."""
    view = session.get(SavedView, view_id)
    if view is None or not (view.shared or view.owner_id == user_id):
        raise NotFound(f"saved view {view_id} does not exist", field="view_id")
    return view


def view_filters(view: SavedView) -> ViewFilters:
    return ViewFilters.from_json(view.filters)


def count_view(session: Session, view: SavedView, user_id: int) -> int:
    """How many conversations the view shows ``user_id`` (the sidebar's counts)."""
    return count_conversations(session, view_filters(view).for_user(user_id))


def list_view(session: Session, view: SavedView, user_id: int, *, page: int = 1,
              per_page: int = 25) -> Page:
    """The conversations the view shows ``user_id``, in its order."""
    filters = view_filters(view)
    return list_conversations(session, filters.for_user(user_id), sort=filters.sort,
                              page=page, per_page=per_page)


def create_view(uow: UnitOfWork, actor: Actor, *, name: str, filters: ViewFilters,
                shared: bool = False, may_share: bool = False) -> SavedView:
    """Save a view for the actor, or for everyone (``shared``: needs ``may_share``)."""
    if shared and not may_share:
        raise PermissionDenied(SHARED_REFUSED, field="shared")
    view = SavedView(owner_id=None if shared else actor.id, filters={})
    _apply(uow.session, view, name=name, filters=filters)
    uow.session.add(view)
    uow.session.flush()
    _audit(uow, actor, "saved_view.created", view)
    uow.commit()
    return view


def update_view(uow: UnitOfWork, actor: Actor, view_id: int, *, name: str | None = None,
                filters: ViewFilters | None = None, shared: bool | None = None,
                may_share: bool = False) -> SavedView:
    """Rename it, replace its filters, share it or make it the actor's own again."""
    view = _managed(uow.session, actor, view_id, may_share)
    if shared is not None and shared != view.shared:
        if not may_share:
            raise PermissionDenied(SHARED_REFUSED, field="shared")
        view.owner_id = None if shared else actor.id
    # The name is checked again: sharing a view or taking it back changes its neighbours.
    _apply(uow.session, view, name=view.name if name is None else name, filters=filters)
    _audit(uow, actor, "saved_view.updated", view)
    uow.commit()
    return view


def delete_view(uow: UnitOfWork, actor: Actor, view_id: int, *, may_share: bool = False) -> None:
    view = _managed(uow.session, actor, view_id, may_share)
    _audit(uow, actor, "saved_view.deleted", view)
    uow.session.delete(view)
    uow.commit()


def checked(session: Session, filters: ViewFilters) -> ViewFilters:
    """The filters trimmed, or ValidationFailed/NotFound naming the one that is wrong."""
    if isinstance(filters.assignee, str) and filters.assignee not in (ME, UNASSIGNED):
        raise ValidationFailed(f"{filters.assignee!r} is not me, unassigned or a user id",
                               field="filters.assignee")
    if isinstance(filters.assignee, int):
        get_or_404(session, User, filters.assignee, field="filters.assignee")
    if filters.queue_id is not None:
        get_or_404(session, Queue, filters.queue_id, field="filters.queue_id")
    tag = _trimmed(filters.tag, MAX_TAG, "tag")
    return replace(filters, tag=tag.lower() if tag else None,
                   q=_trimmed(filters.q, MAX_QUERY, "q"))


def _trimmed(value: str | None, limit: int, name: str) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationFailed(f"at most {limit} characters", field=f"filters.{name}")
    return value or None


def _managed(session: Session, actor: Actor, view_id: int, may_share: bool) -> SavedView:
    view = visible_view(session, actor.id or 0, view_id)
    if view.shared and not may_share:
        raise PermissionDenied(SHARED_REFUSED, field="view_id")
    return view


def _apply(session: Session, view: SavedView, *, name: str | None,
           filters: ViewFilters | None) -> None:
    if name is not None:
        view.name = _checked_name(session, view, name)
    if filters is not None:
        view.filters = checked(session, filters).to_json()
    segment_id = view.filters.get("segment_id")
    if segment_id is not None:  # checked again when sharing changes who sees the view
        segments.check_usable(session, segment_id, view.owner_id)


def _checked_name(session: Session, view: SavedView, name: str) -> str:
    """Trimmed, not empty, and not already the name of a view in the same scope."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"a view's name has 1 to {MAX_NAME} characters", field="name")
    same_scope = (SavedView.owner_id.is_(None) if view.owner_id is None
                  else SavedView.owner_id == view.owner_id)
    others = [SavedView.id != view.id] if view.id is not None else []
    clash = session.scalar(select(SavedView.id).where(same_scope, SavedView.name == name,
                                                      *others))
    if clash is not None:
        raise Conflict(f"a view named {name!r} exists already", field="name")
    return name


def _audit(uow: UnitOfWork, actor: Actor, action: str, view: SavedView) -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type="saved_view",
                                   target_id=view.id, details={
                                       "name": view.name, "shared": view.shared}))
