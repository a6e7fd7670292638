"""Live-chat transport under load (issue 4): 1,000 widget connections on one process, 500
customer/agent messages a second, delivery p95 <= 50 ms; then two processes with Redis.

Each scenario gets a fresh database (``bench_<pid>_<time>`` on the local PostgreSQL server,
dropped afterwards; ``--database sqlite`` for an SQLite file in WAL mode), real ``comptoir
run`` processes, and a load generator in a separate process (``benchmarks.chat_load``,
asyncio python-socketio clients). Delivery latency runs from the sender's emit
(``message.send`` on ``/chat``, or the agent's ``POST .../reply``) to the other side's
``message`` (``/chat``) or ``conversation.event`` (``/agent``): the server's commit is inside
it. Each rate of ``--rates`` is one 30 s phase on the same connections; ``--profile`` samples
the servers with py-spy; ``benchmarks.chat_queries`` adds each request's cost alone.

    .venv/bin/python -m benchmarks.chat_transport [--scenarios one,two] [--rates 500,40,20,10]
        [--profile] [--logs DIR] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import chat_queries
from benchmarks.chat_cluster import (
    Server,
    cpu_seconds,
    fresh_database,
    private_redis,
    running_servers,
    scratch_folder,
    seed,
    server_errors,
)
from benchmarks.chat_load import CUSTOMER, REPLY, Plan
from benchmarks.chat_profile import Profiler
from benchmarks.common import command_line, cpu_model, write_section

MODULE = "benchmarks.chat_transport"
SECTION = "chat-transport"
TARGET_CONNECTIONS, TARGET_RATE, TARGET_P95 = 1000, 500.0, 0.050
SETTLED, SETTLE = 10.0, 180.0  # 1-minute load average deemed settled; most seconds to wait


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    servers: int  # customers on the first, agents on the last

    @property
    def redis(self) -> bool:
        return self.servers > 1


SCENARIOS = {"one": Scenario("one", "One process", 1),
             "two": Scenario("two", "Two processes + Redis (customers on A, agents on B)", 2)}


@dataclass(frozen=True)
class Phase:
    """The servers during one offered rate: cores used, most threads, resident memory."""

    cpu: list[float]
    threads: list[int]
    rss_mib: list[float]
    machine_busy: float  # cores busy on the whole machine, ours and everyone else's
    postgres: float  # cores used by all PostgreSQL processes
    others: float  # cores used by everything else: other people's work on the machine


@dataclass(frozen=True)
class Outcome:
    """One scenario's figures: the generator's result and what the servers did."""

    scenario: Scenario
    load_average: tuple[float, float, float]
    result: dict[str, Any]
    phases: list[Phase]
    tracebacks: list[int]
    profile: str
    costs: str


# --- one scenario -------------------------------------------------------------------------


def run_scenario(scenario: Scenario, args: argparse.Namespace, *, costs: bool) -> Outcome:
    """Fresh database (and Redis), seed, servers, the load generator; then, with ``costs``,
    each request's cost measured in-process on the same database."""
    load_average = settled_load_average()
    with ExitStack() as stack:
        folder = stack.enter_context(scratch_folder())
        settings = {"database_url": stack.enter_context(fresh_database(args.database, folder)),
                    "instance_path": str(folder / "instance"), "secret_key": "chat-benchmark"}
        if scenario.redis:
            settings["redis_url"] = stack.enter_context(private_redis(folder))
        seeded = seed({**settings, "redis_url": ""}, args.agents)
        if args.logs:  # runs once the servers have stopped (the stack unwinds in reverse)
            stack.callback(keep_logs, folder, Path(args.logs) / scenario.name)
        with running_servers(settings, scenario.servers, folder) as servers:
            plan = Plan(chat_url=servers[0].url, agent_url=servers[-1].url,
                        site_key=seeded.site_key, tokens=seeded.tokens,
                        customers=args.customers, rates=args.rates, duration=args.duration)
            result, phases, profile = drive(plan, servers, folder, args.profile)
            tracebacks = [server_errors(s) for s in servers]
        table = chat_queries.table(chat_queries.measure(settings, seeded)) if costs else ""
        return Outcome(scenario, load_average, result, phases, tracebacks, profile, table)


def settled_load_average() -> tuple[float, float, float]:
    """The load average once the last scenario's teardown (thousands of server threads
    waking to close their sockets) has faded from it, waiting at most ``SETTLE`` seconds."""
    deadline = time.monotonic() + SETTLE
    while os.getloadavg()[0] > SETTLED and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()


def keep_logs(folder: Path, destination: Path) -> None:
    """Copy the servers' logs out of the scratch folder (it is deleted afterwards)."""
    destination.mkdir(parents=True, exist_ok=True)
    for log in folder.glob("server*.log"):
        shutil.copy(log, destination / log.name)


def drive(plan: Plan, servers: list[Server], folder: Path,
          profile: bool) -> tuple[dict[str, Any], list[Phase], str]:
    """Run the generator; watch the servers (and profile them) while it offers load."""
    plan_path, result_path = folder / "plan.json", folder / "result.json"
    plan_path.write_text(json.dumps(asdict(plan)))
    command = [sys.executable, "-m", "benchmarks.chat_load", str(plan_path), str(result_path)]
    profiler = Profiler([s.process.pid for s in servers], folder) if profile else None
    with generator(command) as (generator_pid, announced):
        marks = watch(announced, servers, generator_pid, profiler)
    phases = [phase(marks[f"load-{rate:g}"], marks[f"drain-{rate:g}"]) for rate in plan.rates]
    names = ["server A", "server B"][:len(servers)]
    return (json.loads(result_path.read_text()), phases,
            profiler.report(names) if profiler else "")


@dataclass(frozen=True)
class Mark:
    """The servers at one moment."""

    time: float
    cpu: list[float]
    threads: list[int]
    rss_mib: list[float]
    machine: tuple[int, int]  # (busy, all) jiffies of every core since boot
    generator: float  # CPU seconds of the load generator
    postgres: float  # CPU seconds of all PostgreSQL processes alive now


def phase(start: Mark, end: Mark) -> Phase:
    """The servers' cores, threads and memory between two marks; the machine's share."""
    seconds = end.time - start.time
    busy, total = (b - a for a, b in zip(start.machine, end.machine, strict=True))
    machine = len(os.sched_getaffinity(0)) * busy / max(total, 1)
    servers = [(b - a) / seconds for a, b in zip(start.cpu, end.cpu, strict=True)]
    postgres = max(0.0, end.postgres - start.postgres) / seconds
    ours = sum(servers) + (end.generator - start.generator) / seconds + postgres
    return Phase(servers, [max(a, b) for a, b in zip(start.threads, end.threads, strict=True)],
                 end.rss_mib, machine, postgres, max(0.0, machine - ours))


def postgres_cpu_seconds() -> float:
    """CPU seconds of every process named ``postgres`` (the server and its backends)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split("(", 1)[1].startswith("postgres)"):
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError):
            continue  # the process ended meanwhile
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, all) CPU time of the whole machine from /proc/stat (idle and iowait = not busy)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - fields[3] - fields[4], total


@contextmanager
def generator(command: list[str]) -> Iterator[tuple[int, Iterator[str]]]:
    """The load generator process: its pid and the phases it announces on stdout."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        yield process.pid, (line.split()[1] for line in process.stdout
                            if line.startswith("phase "))
    finally:
        if process.wait(timeout=1800) != 0:
            raise RuntimeError(f"the load generator exited with {process.returncode}")


def watch(announced: Iterator[str], servers: list[Server], generator_pid: int,
          profiler: Profiler | None) -> dict[str, Mark]:
    """A mark of the servers at each phase; the profiler runs from the first load on."""
    marks: dict[str, Mark] = {}
    for name in announced:
        pids = [s.process.pid for s in servers]
        marks[name] = Mark(time.monotonic(), [cpu_seconds(p) for p in pids],
                           [status_number(p, "Threads") for p in pids],
                           [status_number(p, "VmRSS") / 1024 for p in pids],
                           machine_jiffies(), cpu_seconds(generator_pid),
                           postgres_cpu_seconds())
        if profiler and name.startswith("load-") and not profiler.processes:
            profiler.start()
    if profiler:
        profiler.stop()
    return marks


def status_number(pid: int, key: str) -> int:
    """A number from /proc/<pid>/status (``Threads``, ``VmRSS`` in KiB)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith(f"{key}:")))


# --- report -------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def latency(figures: dict[str, float]) -> str:
    """p50 / p95 / p99 (max) of one latency distribution."""
    if not figures:
        return "none delivered"
    return (f"{ms(figures['p50'])} / {ms(figures['p95'])} / {ms(figures['p99'])} "
            f"(max {ms(figures['max'])})")


def connection_rows(outcome: Outcome) -> dict[str, str]:
    """The connections table's rows for one scenario, by label."""
    r = outcome.result
    agents = len(r["plan"]["tokens"])
    return {
        "Load average at start (1/5/15 min)": " / ".join(f"{x:.2f}"
                                                        for x in outcome.load_average),
        "/chat connections held (alive before / after the load)":
            f"{r['plan']['customers']:,} ({r['alive_before']:,} / {r['alive_after']:,})",
        "Connect all (each: p50 / p95)":
            f"{r['connect']['seconds']:.1f} s ({ms(r['connect']['each']['p50'])} / "
            f"{ms(r['connect']['each']['p95'])})",
        "`conversation.start` for all, 10 at a time (each: p50 / p95)":
            f"{r['start']['seconds']:.1f} s ({ms(r['start']['each']['p50'])} / "
            f"{ms(r['start']['each']['p95'])})",
        "Agents on `/agent`": f"{agents}, each subscribed to "
                              f"{r['plan']['customers'] // agents} conversations "
                              f"({r['agents_alive']} alive after)",
        "Disconnects during the run": str(r["disconnects"]),
        "Burst: 50 more widgets send `conversation.start` at once": _burst(r.get("burst")),
        "Server tracebacks logged": ", ".join(str(n) for n in outcome.tracebacks),
    }


def load_rows(outcome: Outcome, number: int) -> dict[str, str]:
    """The message-load table's rows for one scenario's phase ``number``, by label."""
    p, servers = outcome.result["phases"][number], outcome.phases[number]
    customer, reply = p["directions"][CUSTOMER], p["directions"][REPLY]
    rate = p["throughput"]
    return {
        "Offered / sent / stored / delivered (msg/s)":
            f"{rate['offered']:.0f} / {rate['sent']:.0f} / {rate['stored']:.0f} / "
            f"{rate['delivered']:.0f}",
        "Shed (300 messages already unanswered)": f"{p['shed']:,}",
        "Customer → agent delivery p50 / p95 / p99": latency(customer["delivery"]),
        "Agent → customer delivery p50 / p95 / p99": latency(reply["delivery"]),
        "`message.send` ack p50 / p95 / p99": latency(customer["ack"]),
        "REST reply 201 p50 / p95 / p99": latency(reply["ack"]),
        "Delivery p95 per 5 s, customer → agent": _trend(customer["timeline"]),
        "Delivery p95 per 5 s, agent → customer": _trend(reply["timeline"]),
        "Errors; unanswered; undelivered; duplicates": _errors(p),
        "Server CPU (cores); threads; RSS":
            ", ".join(f"{cpu:.2f}; {threads:,}; {rss:,.0f} MiB" for cpu, threads, rss
                      in zip(servers.cpu, servers.threads, servers.rss_mib, strict=True)),
        "Load generator CPU (cores); send lag p95":
            f"{p['generator_cpu']:.2f}; {ms(p['lag'].get('p95'))}",
        "Machine busy (cores); of which PostgreSQL; other people's work":
            f"{servers.machine_busy:.2f}; {servers.postgres:.2f}; {servers.others:.2f}",
    }


def _burst(burst: dict[str, Any] | None) -> str:
    if not burst:
        return "not run"
    return (f"{burst['answered']} of {burst['asked']} answered; all done in "
            f"{burst['seconds']:.1f} s")


def _trend(values: list[float]) -> str:
    return " → ".join(f"{v * 1000:,.0f}" for v in values) + " ms" if values else "-"


def _errors(phase: dict[str, Any]) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in phase["errors"].items()) or "0"
    return f"{errors}; {phase['unacked']}; {phase['undelivered']}; {phase['duplicates']}"


def verdicts(outcome: Outcome) -> str:
    """Each target, met or missed with its figure, at the target rate (else the highest)."""
    r = outcome.result
    p = max(r["phases"], key=lambda phase: phase["rate"])
    p95 = max(d["delivery"].get("p95", float("inf")) for d in p["directions"].values())
    delivered, held = p["throughput"]["delivered"], r["alive_after"]
    return "; ".join([
        f"{TARGET_CONNECTIONS:,} connections held: {_met(held >= TARGET_CONNECTIONS)} "
        f"({held:,})",
        f"{TARGET_RATE:.0f} msg/s: {_met(delivered >= TARGET_RATE * 0.98)} "
        f"({delivered:.0f} delivered/s of {p['rate']:.0f} offered)",
        f"delivery p95 <= {ms(TARGET_P95)}: {_met(p95 <= TARGET_P95)} "
        f"(worse direction {ms(p95)})"])


def _met(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def markdown_table(header: list[str], rows: list[dict[str, str]]) -> list[str]:
    """Rows = labels, one column per entry of ``rows``."""
    lines = [f"| | {' | '.join(header)} |", f"| --- |{' --- |' * len(header)}"]
    return lines + [f"| {label} | {' | '.join(row[label] for row in rows)} |"
                    for label in rows[0]]


def report(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    """The RESULTS.md section."""
    connections = markdown_table([o.scenario.title for o in outcomes],
                                 [connection_rows(o) for o in outcomes])
    columns = [(o, n) for o in outcomes for n in range(len(o.result["phases"]))]
    load = markdown_table([f"{o.scenario.title}, {o.result['phases'][n]['rate']:g} msg/s "
                           "offered" for o, n in columns],
                          [load_rows(o, n) for o, n in columns])
    targets = "\n".join(f"- {o.scenario.title}: {verdicts(o)}" for o in outcomes)
    extras = [f"{o.scenario.title}. {o.profile}" for o in outcomes if o.profile]
    extras += [f"Each request alone (in-process, same database, one at a time):\n\n{o.costs}"
               for o in outcomes if o.costs]
    return "\n".join([f"## Live-chat transport (issue 4)\n\n{setup(args)}",
                      "### Connections\n", *connections, "\n### Messages\n", *load,
                      f"\n### Targets\n\n{targets}\n", *[f"{e}\n" for e in extras]])


def setup(args: argparse.Namespace) -> str:
    """Date, machine, database, command and what the load is."""
    cores = len(os.sched_getaffinity(0))
    database = ("PostgreSQL 15 (fresh database `bench_<pid>_<time>` per scenario, dropped "
                "after)" if args.database == "postgres" else "SQLite file in WAL mode")
    return (f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}\n"
            f"- Machine: `nproc` = {cores}, {cpu_model()}, shared with other work (see the "
            "load averages); servers, load generator, database and Redis all on it\n"
            f"- Database: {database}; Redis (two processes): a private `redis-server`\n"
            f"- Code: {code_version()}\n"
            f"- Command: `{command_line(MODULE)}`\n"
            f"- Load: {args.customers:,} widgets (`/chat`, websocket transport, as the widget "
            f"tries first), each with a conversation; {args.agents} agents (`/agent`, API "
            f"token), each subscribed to {args.customers // args.agents} conversations; "
            f"for {args.duration:.0f} s per rate, messages offered at a constant rate (open "
            "loop), half `message.send` from customers, half `POST /api/v1/conversations/"
            "<id>/reply` from agents (10 HTTP connections), conversations in turn; site with "
            "the assistant off. Latency = the sender's emit → the other side's `message` / "
            "`conversation.event` (the commit is inside it)\n")


def code_version() -> str:
    """The commit the servers ran, and whether the work tree had changes on top."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], capture_output=True, text=True,  # noqa: S603,S607
                              cwd=Path(__file__).parent, check=False).stdout.strip()
    changed = git("status", "--porcelain", "--untracked-files=no")
    return f"`{git('rev-parse', '--short', 'HEAD')}`" + (
        " plus uncommitted changes in the work tree" if changed else "")


def rates(text: str) -> list[float]:
    return [float(rate) for rate in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="one,two", help="one, two or one,two")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--customers", type=int, default=TARGET_CONNECTIONS)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rates", type=rates, default=[TARGET_RATE],
                        help="messages a second to offer, one phase each, e.g. 500,40")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    parser.add_argument("--profile", action="store_true",
                        help="sample the servers with py-spy during the first rate")
    parser.add_argument("--logs", help="copy the servers' logs into this folder")
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    outcomes: list[Outcome] = []
    for n, name in enumerate(args.scenarios.split(",")):
        outcomes.append(run_scenario(SCENARIOS[name], args, costs=n == 0))
        section = report(outcomes, args)
        print(section, flush=True)  # each scenario's figures as soon as they are known
    if args.write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
