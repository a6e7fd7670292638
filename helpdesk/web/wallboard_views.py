"""The wallboard page: every queue as a tile sized to fill a wall screen, updated live.

The page renders the board; ``wallboard.js`` then keeps its figures current from the
boards pushed over Socket.IO (docs/wallboard.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_percent
from flask_babel import lazy_gettext as _l

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.orm import utcnow
from helpdesk.services import wallboard
from helpdesk.web import bp

NO_FIGURE = "—"
AGENT_STATES = {"online": _l("Online"), "busy": _l("Busy"), "away": _l("Away"),
                "offline": _l("Offline")}
# Tiles are wider than tall: this many columns per row fills a landscape screen best.
COLUMNS_PER_ROW = 1.5


@dataclass(frozen=True)
class Grid:
    columns: int
    rows: int


@bp.get("/wallboard")
@requires(Permission.WALLBOARD_VIEW)
def wallboard_page() -> ResponseReturnValue:
    now = utcnow()
    boards = wallboard.snapshot(db.session, now)
    return render_template("web/wallboard.html", boards=boards, generated_at=now,
                           grid=grid_for(len(boards)), agent_states=AGENT_STATES)


def grid_for(tiles: int) -> Grid:
    """Columns and rows for ``tiles`` tiles on a landscape screen (6 tiles: 3 by 2)."""
    columns = max(1, min(tiles, math.ceil(math.sqrt(tiles * COLUMNS_PER_ROW))))
    return Grid(columns, max(1, math.ceil(tiles / columns)))


@bp.app_template_filter("wait_clock")
def wait_clock(seconds: int) -> str:
    """A wait as a clock reads: ``4:07``, ``1:02:09``."""
    minutes, second = divmod(max(0, seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"


@bp.app_template_filter("share")
def share(percent: int | None) -> str:
    """A percentage in the reader's language (``92 %`` in French), a dash when unknown."""
    return NO_FIGURE if percent is None else format_percent(percent / 100)
