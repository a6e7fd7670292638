"""The inbox: conversations by view (mine, unassigned, all, a queue, a saved view) with
filters, full-text search and a sort order."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.models import Channel, ConversationStatus, Priority, SavedView
from helpdesk.services import saved_views, segments
from helpdesk.services.queries import (
    ConversationFilter,
    Page,
    Sort,
    count_conversations,
    list_conversations,
)
from helpdesk.services.saved_views import ME, UNASSIGNED, ViewFilters
from helpdesk.web import bp
from helpdesk.web.directory import Directory, load_directory
from helpdesk.web.segment_views import chosen_segment

E = TypeVar("E", bound=StrEnum)
S = ConversationStatus
ACTIVE = [S.NEW, S.OPEN, S.PENDING, S.ON_HOLD]
ANY_STATUS = "any"
VIEWS = {"mine": _l("Mine"), "unassigned": _l("Unassigned"), "all": _l("All")}
SORTS = {Sort.PRIORITY: _l("Most urgent first"), Sort.RECENT: _l("Latest activity first"),
         Sort.OLDEST: _l("Waiting longest first"), Sort.RELEVANCE: _l("Best match first")}


@dataclass(frozen=True)
class InboxQuery:
    """The inbox state, read from and written back to the query string."""

    view: str = "mine"
    queue: int | None = None
    assignee: int | None = None  # one agent's (in the "all" view)
    status: str = ""  # "" = active, "any", or one status
    priority: str = ""
    channel: str = ""
    tag: str = ""
    q: str = ""  # full-text search
    sort: str = ""  # "" = relevance when searching, else priority
    segment: int | None = None  # customers of this segment (one the user sees)
    saved: int | None = None  # a saved view: its filters replace the ones above
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> InboxQuery:
        queue = args.get("queue", "")
        view = args.get("view") if args.get("view") in VIEWS else "mine"
        return cls(view="all" if queue.isdigit() else view,
                   queue=int(queue) if queue.isdigit() else None,
                   assignee=_id(args.get("assignee")),
                   status=_known_status(args.get("status")),
                   priority=_known(Priority, args.get("priority")),
                   channel=_known(Channel, args.get("channel")),
                   tag=args.get("tag", "").strip().lower(), q=args.get("q", "").strip(),
                   sort=_known(Sort, args.get("sort")),
                   segment=_visible_segment(_id(args.get("segment"))),
                   saved=_id(args.get("saved")),
                   page=max(1, args.get("page", 1, type=int)))

    def view_filters(self) -> ViewFilters:
        """These filters as a saved view keeps them ("mine" stays whoever looks)."""
        assignee = {"mine": ME, "unassigned": UNASSIGNED}.get(self.view, self.assignee)
        return ViewFilters(
            statuses=_statuses(self.status), queue_id=self.queue, assignee=assignee,
            priority=Priority(self.priority) if self.priority else None,
            channel=Channel(self.channel) if self.channel else None,
            tag=self.tag or None, q=self.q or None, sort=Sort(self.sort) if self.sort else None,
            segment_id=self.segment)

    def filters(self, user_id: int) -> ConversationFilter:
        return self.view_filters().for_user(user_id)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for a link to this state with ``changes`` applied."""
        state = asdict(replace(self, **changes))
        return {key: value for key, value in state.items()
                if value not in ("", None) and not (key == "page" and value == 1)}

    @property
    def filtered(self) -> bool:
        return any((self.assignee, self.status, self.priority, self.channel, self.tag, self.q,
                    self.sort, self.segment))


@dataclass(frozen=True)
class NavItem:
    label: str
    query: InboxQuery
    count: int
    current: bool


@dataclass(frozen=True)
class SavedNavItem:
    view: SavedView
    count: int
    current: bool


@bp.get("/conversations")
@requires(Permission.CONVERSATIONS_READ)
def inbox() -> ResponseReturnValue:
    query = InboxQuery.from_args(request.args)
    directory = load_directory(db.session)
    saved = _saved_view(query)
    return render_template("web/inbox.html", query=query, page=_results(query, saved),
                           directory=directory, nav=_nav(query, directory), saved=saved,
                           saved_nav=_saved_nav(query), statuses=list(S),
                           segments=segments.visible_segments(db.session, current_user.id),
                           priorities=list(Priority), channels=list(Channel), sorts=SORTS)


def _saved_view(query: InboxQuery) -> SavedView | None:
    if query.saved is None:
        return None
    try:
        return saved_views.visible_view(db.session, current_user.id, query.saved)
    except NotFound:
        abort(404)


def _results(query: InboxQuery, saved: SavedView | None) -> Page:
    per_page = current_app.config["COMPTOIR"].page_size
    if saved is not None:
        return saved_views.list_view(db.session, saved, current_user.id, page=query.page,
                                     per_page=per_page)
    return list_conversations(db.session, query.filters(current_user.id),
                              sort=Sort(query.sort) if query.sort else None, page=query.page,
                              per_page=per_page)


def _nav(current: InboxQuery, directory: Directory) -> list[NavItem]:
    """The left navigation with each view's count of active conversations."""
    targets = [(str(label), InboxQuery(view=view)) for view, label in VIEWS.items()]
    targets += [(q.name, InboxQuery(view="all", queue=q.id)) for q in directory.queue_list]
    here = None if current.saved else (current.view, current.queue)
    return [NavItem(label, target, count_conversations(db.session, target.filters(current_user.id)),
                    (target.view, target.queue) == here)
            for label, target in targets]


def _saved_nav(current: InboxQuery) -> list[SavedNavItem]:
    """The saved views the user sees, each with how many conversations it shows them."""
    return [SavedNavItem(view, saved_views.count_view(db.session, view, current_user.id),
                         view.id == current.saved)
            for view in saved_views.visible_views(db.session, current_user.id)]


def _statuses(status: str) -> list[ConversationStatus]:
    if status == ANY_STATUS:
        return []
    return [S(status)] if status else list(ACTIVE)


def _visible_segment(segment_id: int | None) -> int | None:
    """A segment filter the user may use; another's, or a deleted one, is dropped."""
    segment = chosen_segment(segment_id)
    return segment.id if segment else None


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _known_status(value: str | None) -> str:
    return ANY_STATUS if value == ANY_STATUS else _known(S, value)


def _known(enum: type[E], value: str | None) -> str:
    """``value`` when it names a member of ``enum``; unknown filters are dropped, not errors."""
    return value if value in {m.value for m in enum} else ""
