"""The wallboard's push timing, which events move it, and how its page is laid out."""

from __future__ import annotations

import pytest

from helpdesk.events import SYSTEM, Actor, CustomerUpdated, MessagePosted, StatusChanged
from helpdesk.realtime.wallboard import Coalescer, changes_the_board
from helpdesk.web.wallboard_views import Grid, grid_for, wait_clock


class FakeLoop:
    """Background tasks run when the test says so, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.tasks: list[tuple] = []
        self.slept: list[float] = []
        self.runs = 0

    def coalescer(self) -> Coalescer:
        return Coalescer(lambda: self.action(), 1.0, spawn=lambda *task: self.tasks.append(task),
                         sleep=self.slept.append, clock=lambda: self.now)

    def action(self) -> None:
        self.runs += 1

    def run_tasks(self) -> None:
        tasks, self.tasks = self.tasks, []
        for function, *args in tasks:
            function(*args)


def test_the_first_request_runs_at_once_and_later_ones_join_the_pending_run():
    loop = FakeLoop()
    pushes = loop.coalescer()
    for _ in range(5):
        pushes.request()
    assert len(loop.tasks) == 1
    loop.run_tasks()
    assert (loop.runs, loop.slept) == (1, [0.0])


def test_runs_are_at_least_the_interval_apart():
    loop = FakeLoop()
    pushes = loop.coalescer()
    pushes.request()
    loop.run_tasks()
    loop.now += 0.25
    pushes.request()
    pushes.request()
    loop.run_tasks()
    assert loop.slept == [0.0, 0.75]
    assert loop.runs == 2


def test_a_request_during_a_run_gets_a_run_of_its_own():
    loop = FakeLoop()
    pushes = loop.coalescer()
    pushes.request()
    loop.action = pushes.request  # a change commits while the board is being read
    loop.run_tasks()
    assert len(loop.tasks) == 1


def message(author_kind: str, internal: bool = False) -> MessagePosted:
    return MessagePosted(actor=Actor(author_kind), conversation_id=1, message_id=1, seq=2,
                         author_kind=author_kind, internal=internal, excerpt="")


@pytest.mark.parametrize(("event", "moves"), [
    (StatusChanged(actor=SYSTEM, conversation_id=1, old="open", new="solved"), True),
    (message("agent"), True),  # perhaps a first response, within SLA or not
    (message("agent", internal=True), False),
    (message("customer"), False),
    (CustomerUpdated(actor=SYSTEM, customer_id=1, changes={"name": "Ada"}), False),
])
def test_which_events_can_move_the_board(event, moves):
    assert changes_the_board(event) is moves


@pytest.mark.parametrize(("tiles", "grid"), [
    (0, Grid(1, 1)), (1, Grid(1, 1)), (2, Grid(2, 1)), (3, Grid(3, 1)), (4, Grid(3, 2)),
    (6, Grid(3, 2)), (8, Grid(4, 2)), (9, Grid(4, 3)), (12, Grid(5, 3)),
])
def test_tiles_fill_a_landscape_screen(tiles, grid):
    assert grid_for(tiles) == grid


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0:00"), (59, "0:59"), (247, "4:07"), (3729, "1:02:09"), (-5, "0:00")])
def test_waits_read_like_a_clock(seconds, shown):
    assert wait_clock(seconds) == shown
