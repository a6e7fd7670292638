"""Two app processes sharing rooms through Redis: a customer on one, an agent on the other.

Real processes (``comptoir run``), a real Redis at 127.0.0.1:6379, python-socketio clients.
"""

import os
import queue
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import socketio

from helpdesk import create_app, migrate
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Role
from helpdesk.services import sites, staff

REDIS_URL = "redis://127.0.0.1:6379/0"
COMPTOIR = Path(sys.executable).with_name("comptoir")
WAIT = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"comptoir run exited with {process.returncode}")
        try:
            requests.get(f"http://127.0.0.1:{port}/help/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answers on port {port}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[dict]:
    """Two processes on one SQLite database and one Redis; an agent, a site."""
    folder = tmp_path_factory.mktemp("cluster")
    settings = {"database_url": f"sqlite:///{folder / 'shared.db'}",
                "instance_path": str(folder / "instance"), "secret_key": "cluster-secret"}
    # Set up without Redis: the Socket.IO extension is global, and this test process keeps
    # using its test client (which refuses a message queue) after this module.
    setup = create_app(settings)
    with setup.app_context():
        migrate.upgrade(db.engine)
        with unit_of_work() as uow:
            agent = staff.create_user(uow, SYSTEM, email="a@staff.example", name="Ana B",
                                      role=Role.AGENT, password="correct horse battery")
        with unit_of_work() as uow:
            token = staff.issue_token(uow, SYSTEM, agent.id, name="t",
                                      scopes=["conversations:read", "conversations:write"])[1]
        with unit_of_work() as uow:
            site = sites.create_site(uow, SYSTEM, name="Shop", bot_enabled=False)
        db.engine.dispose()
    env = {**os.environ, **{f"COMPTOIR_{k.upper()}": v
                            for k, v in {**settings, "redis_url": REDIS_URL}.items()}}
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([str(COMPTOIR), "run", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_until_serving(port, process)
        yield {"ports": ports, "token": token, "site": site.key}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def collector(client: socketio.Client, event: str, namespace: str) -> queue.Queue:
    received: queue.Queue = queue.Queue()
    client.on(event, received.put, namespace=namespace)
    return received


def test_a_customer_and_an_agent_on_two_processes_talk(cluster):
    port_a, port_b = cluster["ports"]
    customer, agent = socketio.Client(), socketio.Client()
    customer_inbox = collector(customer, "message", "/chat")
    agent_inbox = collector(agent, "conversation.event", "/agent")
    customer.connect(f"http://127.0.0.1:{port_a}", namespaces=["/chat"],
                     auth={"site": cluster["site"]}, wait_timeout=WAIT)
    agent.connect(f"http://127.0.0.1:{port_b}", namespaces=["/agent"],
                  auth={"token": cluster["token"]}, wait_timeout=WAIT)
    try:
        started = customer.call("conversation.start", {}, namespace="/chat", timeout=WAIT)
        conversation_id = started["conversation"]["id"]
        assert agent.call("subscribe", {"conversation_id": conversation_id},
                          namespace="/agent", timeout=WAIT)["ok"]
        sent = customer.call("message.send", {"conversation_id": conversation_id,
                                              "client_id": "c-1", "body": "Hello from A"},
                             namespace="/chat", timeout=WAIT)
        assert sent["ok"], sent
        heard = agent_inbox.get(timeout=WAIT)
        assert heard["payload"]["excerpt"] == "Hello from A"
        reply = requests.post(
            f"http://127.0.0.1:{port_b}/api/v1/conversations/{conversation_id}/reply",
            json={"body": "Hello from B"}, timeout=WAIT,
            headers={"Authorization": f"Bearer {cluster['token']}"})
        assert reply.status_code == 201, reply.text
        bodies = []
        while "Hello from B" not in bodies:
            bodies.append(customer_inbox.get(timeout=WAIT)["body"])
    finally:
        customer.disconnect()
        agent.disconnect()
