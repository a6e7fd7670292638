"""Where the chat servers spend their time under load: py-spy samples of the live
``comptoir run`` processes (no change to them), summed by package and by function.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
SAMPLE_RATE = 50  # a second; py-spy walks ~3,000 threads at each sample
SECONDS = 20
TOP = 14
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*)\)$")
# Inclusive time is listed for the project's own code: where in it the time goes.
OWN_CODE = ("helpdesk/", "bot/", "knowledge_base/", "widgets/")


@dataclass
class Samples:
    """Collapsed stacks of one process: how often each stack was seen."""

    stacks: Counter[tuple[str, ...]] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.stacks.values())

    def self_by(self, key: str) -> Counter[str]:
        """Samples by the innermost frame's ``key`` (``function`` or ``package``)."""
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            counts[describe(stack[-1], key)] += n
        return counts

    def inclusive(self) -> Counter[str]:
        """Samples whose stack passes through each of our functions (once per stack)."""
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            for frame in set(stack):
                if parse(frame)[1].startswith(OWN_CODE):
                    counts[describe(frame, "function")] += n
        return counts


def parse(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame ``function (file)``."""
    match = FRAME.match(frame)
    return (match["function"], match["file"]) if match else (frame, "")


def describe(frame: str, key: str) -> str:
    """A frame as ``package`` (the file's top folder) or ``module:function``."""
    function, file = parse(frame)
    parts = [p for p in file.replace("\\", "/").split("/") if p]
    if key == "package":
        return parts[0].removesuffix(".py") if parts else "(native)"
    return f"{'/'.join(parts[-2:])}:{function}"


def load(path: Path) -> Samples:
    """Read py-spy's raw output: ``frame;frame;... count`` per line, outermost first."""
    samples = Samples()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.stacks[tuple(stack.split(";"))] += int(count)
    return samples


class Profiler:
    """py-spy ``record`` on each server for ``SECONDS`` seconds, started when the load is."""

    def __init__(self, pids: list[int], folder: Path) -> None:
        self.pids, self.folder = pids, folder
        self.processes: list[subprocess.Popen[bytes]] = []

    def output(self, pid: int) -> Path:
        return self.folder / f"py-spy-{pid}.txt"

    def start(self) -> None:
        for pid in self.pids:
            command = [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(SECONDS),
                       "--rate", str(SAMPLE_RATE), "--format", "raw", "--nolineno",
                       "--gil", "--nonblocking", "--output", str(self.output(pid))]
            self.processes.append(subprocess.Popen(  # noqa: S603 -- our own arguments
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        for process in self.processes:
            process.wait(timeout=SECONDS + 60)

    def report(self, names: list[str]) -> str:
        """Markdown: per server, the busiest packages and functions."""
        return "\n\n".join(summary(name, load(self.output(pid)))
                           for name, pid in zip(names, self.pids, strict=True)
                           if self.output(pid).exists())


def summary(name: str, samples: Samples) -> str:
    """Self time by package, self time by function, inclusive time by function."""
    total = samples.total or 1

    def listed(counts: Counter[str]) -> str:
        return "; ".join(f"{key} {100 * n / total:.0f}%" for key, n in counts.most_common(TOP))
    return (f"Profile of {name}: {samples.total:,} py-spy samples of the thread holding the "
            f"GIL ({SAMPLE_RATE}/s for {SECONDS} s of the first rate's load):\n\n"
            f"- Self time by package: {listed(samples.self_by('package'))}\n"
            f"- Self time by function: {listed(samples.self_by('function'))}\n"
            f"- Inclusive time in our code: {listed(samples.inclusive())}")
