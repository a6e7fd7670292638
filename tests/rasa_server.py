"""A real Rasa server and its action server for tests, from .venv-rasa (``make rasa``).

Both run on free loopback ports from a temporary folder holding their endpoints.yml and
logs: ``rasa run --enable-api`` with the model trained from bot/rasa (bot/rasa/train.py;
trained now if the cache lacks it) and ``rasa run actions --actions bot.actions`` talking
to the Comptoir the test gives it. ``make test`` builds .venv-rasa; without it the tests
that need Rasa are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dovecot import free_port

ROOT = Path(__file__).resolve().parent.parent
RASA_VENV = ROOT / ".venv-rasa"
RASA_PROJECT = ROOT / "bot" / "rasa"
MISSING = f"{RASA_VENV} is missing: `make rasa` builds it (`make test` does too)"
HOST = "127.0.0.1"
READY_TIMEOUT = 240.0  # Rasa loads TensorFlow and the model: slow on a busy 2-core machine
TRAIN_TIMEOUT = 900.0
STOP_TIMEOUT = 30.0
LOG_SHOWN = 6000  # characters of a server's log in an error
QUIET = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def rasa_python() -> Path | None:
    """.venv-rasa's interpreter, when ``make rasa`` has built it."""
    python = RASA_VENV / "bin" / "python"
    return python if (RASA_VENV / "bin" / "rasa").exists() else None


def trained_model(python: Path) -> Path:
    """The model for bot/rasa's current training data (trained first when not cached)."""
    done = subprocess.run([str(python), str(RASA_PROJECT / "train.py")], capture_output=True,
                          text=True, timeout=TRAIN_TIMEOUT, check=False,
                          env={**os.environ, **QUIET})
    if done.returncode != 0:
        raise RuntimeError(f"bot/rasa/train.py failed:\n{done.stderr[-LOG_SHOWN:]}")
    return Path(done.stdout.split()[-1])


class Service:
    """One server process on a loopback port; its output goes to ``log``."""

    def __init__(self, name: str, command: list[str], *, port: int, ready_path: str,
                 log: Path, env: dict[str, str]) -> None:
        self.name, self.command, self.port, self.log = name, command, port, log
        self.url = f"http://{HOST}:{port}"
        self._ready_path, self._env = ready_path, env
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process and wait until ``ready_path`` answers 200."""
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(self.command, cwd=ROOT, stdout=output,
                                             stderr=subprocess.STDOUT,
                                             env={**os.environ, **QUIET, **self._env})
        self._wait_until_ready()

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def get(self, path: str) -> Any:
        """GET ``path`` and return the decoded JSON."""
        with urllib.request.urlopen(self.url + path, timeout=30) as response:  # noqa: S310
            return json.load(response)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_SHOWN:]

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._answers():
            exited = self._process is not None and self._process.poll() is not None
            if exited or time.monotonic() > deadline:
                self.stop()
                state = "exited" if exited else f"did not answer in {READY_TIMEOUT:.0f} s"
                raise RuntimeError(f"{self.name} {state} on port {self.port}:\n{self.output()}")
            time.sleep(0.5)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self._ready_path,  # noqa: S310
                                        timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


@dataclass(frozen=True)
class RasaServer:
    """The running Rasa server, and the port its action server must take."""

    service: Service
    action_port: int
    folder: Path

    @property
    def url(self) -> str:
        return self.service.url

    def tracker(self, sender: str | int) -> dict[str, Any]:
        """Rasa's tracker of one conversation (its events: what Rasa received)."""
        return self.service.get(f"/conversations/{sender}/tracker")

    def user_messages(self, sender: str | int) -> list[str]:
        """The texts Rasa received from ``sender``, in order."""
        return [event.get("text") or "" for event in self.tracker(sender)["events"]
                if event["event"] == "user"]

    @contextmanager
    def actions(self, comptoir_url: str, token: str) -> Iterator[Service]:
        """The action server (bot.actions) on ``action_port``, calling ``comptoir_url``."""
        server = Service("the Rasa action server",
                         [str(RASA_VENV / "bin" / "rasa"), "run", "actions",
                          "--actions", "bot.actions", "--port", str(self.action_port)],
                         port=self.action_port, ready_path="/health",
                         log=self.folder / "actions.log",
                         env={"SANIC_HOST": HOST, "COMPTOIR_URL": comptoir_url,
                              "COMPTOIR_API_TOKEN": token})
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _endpoints(folder: Path, action_port: int) -> Path:
    path = folder / "endpoints.yml"
    path.write_text(f"action_endpoint:\n  url: http://{HOST}:{action_port}/webhook\n")
    return path


@contextmanager
def private_rasa(python: Path) -> Iterator[RasaServer]:
    """``rasa run --enable-api`` with bot/rasa's model in a fresh temporary folder, stopped
    and removed afterwards; its action server is started by ``RasaServer.actions``."""
    model = trained_model(python)
    folder = Path(tempfile.mkdtemp(prefix="comptoir-rasa-"))
    port, action_port = free_port(), free_port()
    rasa = Service("the Rasa server",
                   [str(python.with_name("rasa")), "run", "--enable-api", "--interface", HOST,
                    "--port", str(port), "--model", str(model),
                    "--endpoints", str(_endpoints(folder, action_port)),
                    "--credentials", str(RASA_PROJECT / "credentials.yml")],
                   port=port, ready_path="/status", log=folder / "rasa.log", env={})
    try:
        rasa.start()
        yield RasaServer(rasa, action_port, folder)
    finally:
        rasa.stop()
        shutil.rmtree(folder, ignore_errors=True)


def running_rasa() -> Iterator[RasaServer]:
    """Start Rasa for the caller's scope and stop it after (a fixture body); skips when
    .venv-rasa has not been built."""
    with private_rasa(required_rasa_python()) as server:
        yield server


def required_rasa_python() -> Path:
    """.venv-rasa's interpreter; skips the test when ``make rasa`` has not built it."""
    python = rasa_python()
    if python is None:
        pytest.skip(MISSING)
    return python


def rasa_command(python: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``rasa ARGUMENTS`` run in bot/rasa, its output captured."""
    return subprocess.run([str(python.with_name("rasa")), *arguments], cwd=RASA_PROJECT,
                          capture_output=True, text=True, timeout=TRAIN_TIMEOUT, check=False,
                          env={**os.environ, **QUIET})
