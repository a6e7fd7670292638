"""``comptoir calls simulate`` against a real server over HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Call, CallStatus, Role
from tests.live_server import live_comptoir


@pytest.fixture
def live(tmp_path):
    with live_comptoir(tmp_path) as server:
        yield server


def simulate(live, *args):
    return live.app.test_cli_runner().invoke(args=["calls", "simulate", "--url", live.url,
                                                   *args])


def test_the_simulated_calls_are_taken_duplicates_included(live):
    make = live.make
    agent = make.user(email="answers@staff.example")
    make.queue("Hotline", member_ids=[agent.id])
    token = make.token(make.user(Role.ADMIN), ["calls:ingest"])
    result = simulate(live, "--token", token, "--rate", "40", "--minutes", "1", "--speed", "60",
                      "--seed", "11")
    assert result.exit_code == 0, result.output
    assert "queues: Hotline; agents: answers@staff.example" in result.output
    summary = re.search(r"posted (\d+) events of (\d+) calls .*: (\d+) stored \(201\), "
                        r"(\d+) duplicates \(200\), 0 refused", result.output)
    assert summary, result.output
    posted, calls, stored, duplicates = map(int, summary.groups())
    assert duplicates > 0 and stored + duplicates == posted
    with live.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Call)) == calls
        live_ones = db.session.scalar(select(func.count()).where(Call.status.in_(
            [CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS])))
        assert live_ones == 0  # every simulated call ends


def test_refused_events_are_shown_and_the_exit_status_says_so(live):
    result = simulate(live, "--token", "not-a-token", "--queue", "Q", "--agent", "a@b.example",
                      "--rate", "60", "--minutes", "0.1", "--speed", "100", "--seed", "1")
    assert result.exit_code == 1
    assert "401 the API token is unknown, revoked or expired" in result.output
    assert re.search(r"0 stored \(201\), 0 duplicates \(200\), [1-9]\d* refused", result.output)


def test_an_unreachable_server_is_one_line(live):
    result = live.app.test_cli_runner().invoke(args=[
        "calls", "simulate", "--url", "http://127.0.0.1:9", "--token", "t", "--queue", "Q",
        "--agent", "a@b.example", "--rate", "60", "--minutes", "0.1", "--speed", "100"])
    assert result.exit_code == 1
    assert "Error: cannot post to http://127.0.0.1:9/api/v1/calls/events" in result.output
