"""The servers the live-chat benchmark talks to: a fresh database (PostgreSQL or SQLite),
a private Redis, and ``comptoir run`` processes, all started here and removed afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests
from sqlalchemy.engine import make_url

from helpdesk import create_app, migrate
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Role
from helpdesk.services import sites, staff

COMPTOIR = Path(sys.executable).with_name("comptoir")
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AGENT_SCOPES = ["conversations:read", "conversations:write"]
START_TIMEOUT = 180.0  # seconds; the machine is shared, a cold start can be slow


@dataclass(frozen=True)
class Seed:
    """What the load generator needs: the site's key and one API token per agent."""

    site_key: str
    tokens: list[str]


@dataclass(frozen=True)
class Server:
    """One ``comptoir run`` process."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- database -----------------------------------------------------------------------------


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database for one run: ``bench_<pid>`` on the PostgreSQL server
    (dropped afterwards) or an SQLite file (WAL) in ``folder``."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'chat.db'}"
        return
    name = f"bench_{os.getpid()}_{int(time.time())}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(statement: str) -> None:
    url = make_url(POSTGRES_URL).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(statement.encode())


def seed(settings: dict[str, str], agents: int) -> Seed:
    """Migrate the database; create a site with the assistant off and ``agents`` agents,
    each with an API token allowed to read and reply."""
    app = create_app(settings)
    with app.app_context():
        migrate.upgrade(db.engine)
        with unit_of_work() as uow:
            site_key = sites.create_site(uow, SYSTEM, name="Benchmark shop",
                                         bot_enabled=False).key
        tokens = [_agent_token(n) for n in range(agents)]
        db.engine.dispose()
    return Seed(site_key, tokens)


def _agent_token(number: int) -> str:
    with unit_of_work() as uow:
        agent = staff.create_user(uow, SYSTEM, email=f"agent{number}@bench.example",
                                  name=f"Agent {number}", role=Role.AGENT,
                                  password=secrets.token_urlsafe(16))
        agent_id = agent.id
    with unit_of_work() as uow:
        return staff.issue_token(uow, SYSTEM, agent_id, name="bench", scopes=AGENT_SCOPES)[1]


# --- Redis --------------------------------------------------------------------------------


@contextmanager
def private_redis(folder: Path) -> Iterator[str]:
    """A Redis server of our own on a free port: its pub/sub channel is shared by no one
    else (Redis channels ignore the database number, and tests use the default server)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    arguments = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(arguments,  # noqa: S603 -- our own arguments
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.pid} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


# --- comptoir run -------------------------------------------------------------------------


def server_environment(settings: dict[str, str]) -> dict[str, str]:
    """The environment of ``comptoir run``: our settings as ``COMPTOIR_*`` variables."""
    return {**os.environ, **{f"COMPTOIR_{key.upper()}": value
                             for key, value in settings.items()}}


@contextmanager
def running_servers(settings: dict[str, str], count: int, folder: Path) -> Iterator[list[Server]]:
    """``count`` ``comptoir run`` processes on free ports, stopped afterwards."""
    started: list[Server] = []
    try:
        for number in range(count):
            started.append(_start_server(settings, folder / f"server{number}.log"))
        for server in started:
            wait_until_serving(server)
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            _reap(server.process)


def _start_server(settings: dict[str, str], log: Path) -> Server:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen([str(COMPTOIR), "run", "--port", str(port)],  # noqa: S603
                                   env=server_environment(settings), stdout=output,
                                   stderr=subprocess.STDOUT)
    return Server(port, process, log)


def wait_until_serving(server: Server) -> None:
    """Wait until the server answers HTTP (it refuses to start on an unmigrated database)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"comptoir run exited with {server.process.returncode}: "
                               f"{server.log.read_text(errors='replace')[-2000:]}")
        try:
            requests.get(f"{server.url}/help/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise TimeoutError(f"nothing answers on port {server.port}")


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def server_errors(server: Server) -> int:
    """How many tracebacks the server logged."""
    return server.log.read_text(errors="replace").count("Traceback (most recent call last)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def scratch_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="comptoir-chat-bench-") as folder:
        yield Path(folder)
