"""The wallboard over Socket.IO: who may watch it, and the boards pushed after commits."""

from __future__ import annotations

import time

import pytest

from helpdesk.events import SYSTEM
from helpdesk.extensions import socketio, unit_of_work
from helpdesk.models import Presence, Role
from helpdesk.services import staff

NS = "/agent"
PUSH_WAIT = 5.0  # seconds: pushes are coalesced to one a second, on a busy machine


def connect(app, client=None, auth=None):
    return socketio.test_client(app, namespace=NS, flask_test_client=client, auth=auth)


def watch(sio):
    return sio.emit("watch_wallboard", {}, namespace=NS, callback=True)


def pushed_boards(sio, until=lambda boards: bool(boards), wait=PUSH_WAIT):
    """The boards pushed to ``sio``, once ``until`` holds for them (or ``wait`` passed)."""
    boards = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        boards += [r["args"][0] for r in sio.get_received(NS) if r["name"] == "wallboard"]
        if until(boards):
            break
        time.sleep(0.05)
    return boards


def waiting_in(board, queue_id):
    return next(q["waiting_total"] for q in board["queues"] if q["queue_id"] == queue_id)


@pytest.fixture
def supervisor(make, auth):
    user = make.user(Role.SUPERVISOR)
    assert auth.login(user.email).status_code == 302
    return user


def test_a_supervisor_gets_the_board_then_a_fresh_one_after_each_change(
        app, client, make, supervisor):
    queue = make.queue("Billing", member_ids=[supervisor.id])
    sio = connect(app, client)
    reply = watch(sio)
    assert reply["ok"] is True
    assert [(q["name"], q["waiting_total"]) for q in reply["board"]["queues"]] == [
        ("Billing", 0)]

    make.conversation(queue_id=queue.id)
    [board] = pushed_boards(sio)
    assert waiting_in(board, queue.id) == 1
    assert set(board) == {"generated_at", "queues"}

    with app.app_context(), unit_of_work() as uow:
        staff.set_presence(uow, SYSTEM, supervisor.id, Presence.AWAY)
    [board] = pushed_boards(sio)
    assert board["queues"][0]["agents"]["away"] == 1


def test_a_burst_of_changes_is_pushed_coalesced_ending_with_the_last_state(
        app, client, make, supervisor):
    queue = make.queue()
    sio = connect(app, client)
    watch(sio)
    for _ in range(6):
        make.conversation(queue_id=queue.id)
    boards = pushed_boards(sio, until=lambda b: b and waiting_in(b[-1], queue.id) == 6)
    assert waiting_in(boards[-1], queue.id) == 6
    assert len(boards) < 6


def test_an_agent_may_not_watch_the_wallboard(app, client, make, auth):
    agent = make.user(Role.AGENT)
    auth.login(agent.email)
    queue = make.queue(member_ids=[agent.id])
    sio = connect(app, client)
    assert sio.is_connected(NS)  # the rest of the namespace is theirs
    assert watch(sio) == {"ok": False, "error": "wallboard:view is needed to watch the wallboard"}
    make.conversation(queue_id=queue.id)
    assert pushed_boards(sio, wait=1.5) == []


def test_a_token_needs_the_wallboard_scope(app, make):
    supervisor = make.user(Role.SUPERVISOR)
    reader = connect(app, auth={"token": make.token(supervisor, ["conversations:read"])})
    assert watch(reader)["ok"] is False
    watcher = connect(app, auth={"token": make.token(
        supervisor, ["conversations:read", "wallboard:view"])})
    assert watch(watcher)["ok"] is True
