"""The inbox: conversations by view (mine, unassigned, all, a queue) with filters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import Channel, ConversationStatus, Priority
from helpdesk.services.queries import ConversationFilter, count_conversations, list_conversations
from helpdesk.web import bp
from helpdesk.web.directory import Directory, load_directory

E = TypeVar("E", bound=StrEnum)
S = ConversationStatus
ACTIVE = [S.NEW, S.OPEN, S.PENDING, S.ON_HOLD]
ANY_STATUS = "any"
VIEWS = {"mine": _l("Mine"), "unassigned": _l("Unassigned"), "all": _l("All")}


@dataclass(frozen=True)
class InboxQuery:
    """The inbox state, read from and written back to the query string."""

    view: str = "mine"
    queue: int | None = None
    status: str = ""  # "" = active, "any", or one status
    priority: str = ""
    channel: str = ""
    tag: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> InboxQuery:
        queue = args.get("queue", "")
        view = args.get("view") if args.get("view") in VIEWS else "mine"
        return cls(view="all" if queue.isdigit() else view,
                   queue=int(queue) if queue.isdigit() else None,
                   status=_known_status(args.get("status")),
                   priority=_known(Priority, args.get("priority")),
                   channel=_known(Channel, args.get("channel")),
                   tag=args.get("tag", "").strip().lower(), q=args.get("q", "").strip(),
                   page=max(1, args.get("page", 1, type=int)))

    def filters(self, user_id: int) -> ConversationFilter:
        return ConversationFilter(
            statuses=_statuses(self.status), queue_id=self.queue,
            assignee_id=user_id if self.view == "mine" else None,
            unassigned=self.view == "unassigned",
            priority=Priority(self.priority) if self.priority else None,
            channel=Channel(self.channel) if self.channel else None,
            tag=self.tag or None, search=self.q or None)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for a link to this state with ``changes`` applied."""
        state = asdict(replace(self, **changes))
        return {key: value for key, value in state.items()
                if value not in ("", None) and not (key == "page" and value == 1)}

    @property
    def filtered(self) -> bool:
        return any((self.status, self.priority, self.channel, self.tag, self.q))


@dataclass(frozen=True)
class NavItem:
    label: str
    query: InboxQuery
    count: int
    current: bool


@bp.get("/conversations")
@requires(Permission.CONVERSATIONS_READ)
def inbox() -> ResponseReturnValue:
    query = InboxQuery.from_args(request.args)
    directory = load_directory(db.session)
    page = list_conversations(db.session, query.filters(current_user.id), page=query.page,
                              per_page=current_app.config["COMPTOIR"].page_size)
    return render_template("web/inbox.html", query=query, page=page, directory=directory,
                           nav=_nav(query, directory), statuses=list(S), priorities=list(Priority),
                           channels=list(Channel))


def _nav(current: InboxQuery, directory: Directory) -> list[NavItem]:
    """The left navigation with each view's count of active conversations."""
    targets = [(str(label), InboxQuery(view=view)) for view, label in VIEWS.items()]
    targets += [(q.name, InboxQuery(view="all", queue=q.id)) for q in directory.queue_list]
    return [NavItem(label, target, count_conversations(db.session, target.filters(current_user.id)),
                    (target.view, target.queue) == (current.view, current.queue))
            for label, target in targets]


def _statuses(status: str) -> list[ConversationStatus]:
    if status == ANY_STATUS:
        return []
    return [S(status)] if status else list(ACTIVE)


def _known_status(value: str | None) -> str:
    return ANY_STATUS if value == ANY_STATUS else _known(S, value)


def _known(enum: type[E], value: str | None) -> str:
    """``value`` when it names a member of ``enum``; unknown filters are dropped, not errors."""
    return value if value in {m.value for m in enum} else ""
