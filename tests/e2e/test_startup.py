"""Starting Comptoir: it refuses an unmigrated database, and a migrated one serves for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from helpdesk import create_app, migrate
from helpdesk.extensions import db

BIN = Path(sys.executable).parent
FIX = "comptoir db upgrade"
# A cold start imports torch, faiss and scikit-learn: slow on a loaded 2-core machine.
STARTUP_TIMEOUT = 180


@pytest.fixture
def unmigrated(database_url: str, tmp_path) -> Iterator[Flask]:
    app = create_app({"database_url": database_url, "instance_path": str(tmp_path / "instance"),
                      "secret_key": "test-secret", "testing": True})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_http_answers_503_naming_the_fix_until_migrated(unmigrated):
    client = unmigrated.test_client()
    api = client.get("/api/v1/health")
    assert api.status_code == 503
    error = api.get_json()["error"]
    assert error["code"] == "database_not_migrated" and FIX in error["message"]
    page = client.get("/login")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert FIX in page.get_data(as_text=True)
    with unmigrated.app_context():
        migrate.upgrade(db.engine)
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize("command", [["run"], ["users", "list"], ["demo", "load", "--once"]])
def test_commands_refuse_an_unmigrated_database(unmigrated, command):
    result = unmigrated.test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert FIX in result.output and "Traceback" not in result.output


def test_comptoir_run_serves_and_says_where_to_log_in(app, tmp_path):
    port = _free_port()
    server = subprocess.Popen([BIN / "comptoir", "run", "--port", str(port)],
                              env=_env(app, tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        status, health = _get(f"http://127.0.0.1:{port}/api/v1/health", server)
        assert status == 200 and json.loads(health)["status"] == "ok"
        status, page = _get(f"http://127.0.0.1:{port}/login", server)
        assert status == 200 and 'name="password"' in page
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"Log in at http://127.0.0.1:{port}/login" in output
    assert "comptoir users set-password" in output


def test_flask_app_option_runs_the_same_commands(app, tmp_path):
    result = subprocess.run([BIN / "flask", "--app", "helpdesk", "users", "list"],
                            env=_env(app, tmp_path), capture_output=True, text=True,
                            timeout=STARTUP_TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(none)"


def _env(app: Flask, tmp_path: Path) -> dict[str, str]:
    """The test database, seen through the environment as an operator would configure it."""
    settings = app.config["COMPTOIR"]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    return inherited | {"COMPTOIR_DATABASE_URL": settings.database_url,
                        "COMPTOIR_INSTANCE_PATH": str(tmp_path / "served"),
                        "PYTHONUNBUFFERED": "1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, server: subprocess.Popen, timeout: float = 30) -> tuple[int, str]:
    """GET once the server answers; fail early if it died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local URL)
                return response.status, response.read().decode()
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"the server exited: {server.communicate()[0]}")
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"], ["users", "list"]])
def test_commands_name_an_unreachable_database(tmp_path, command):
    app = create_app({"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                      "instance_path": str(tmp_path), "secret_key": "test-secret"})
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert "cannot use the database at postgresql+psycopg://postgres@127.0.0.1:1/nowhere" in (
        result.output)
