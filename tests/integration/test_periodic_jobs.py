"""The worker runs the modules' periodic jobs at their pace, and outlives a failing one."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from helpdesk.jobs import Worker
from helpdesk.periodic import periodic, periodic_jobs


def test_a_job_runs_at_the_first_tick_then_once_its_interval_passed(app, monkeypatch):
    runs: list[datetime] = []
    periodic(app, "counting", 60.0, runs.append)
    clock = [1000.0]
    monkeypatch.setattr("helpdesk.jobs.time.monotonic", lambda: clock[0])
    with app.app_context():
        worker = Worker()
        for seconds in (0.0, 30.0, 59.0, 61.0):
            clock[0] = 1000.0 + seconds
            worker._run_due_jobs()
    assert len(runs) == 2  # at 0 s and at 61 s
    assert all(run.tzinfo is not None for run in runs)


def test_a_failing_job_is_logged_and_the_others_still_run(app, caplog):
    def failing(_now: datetime) -> None:
        raise RuntimeError("the job broke")

    runs: list[datetime] = []
    periodic(app, "failing", 60.0, failing)
    periodic(app, "next one", 60.0, runs.append)
    with app.app_context(), caplog.at_level(logging.ERROR):
        Worker().tick()
    assert len(runs) == 1
    assert "failing failed; the worker goes on" in caplog.text


def test_the_missed_replies_look_is_registered_and_intervals_must_be_positive(app):
    assert "queueing missed replies" in [job.name for job in periodic_jobs(app)]
    with pytest.raises(ValueError, match="every must be positive"):
        periodic(app, "never", 0, lambda _now: None)
