"""CPU per request per process: what one request costs each process of the system under test.

Each process is read just before and just after a cell's wrk run: CPU seconds (user +
system) of the process and of all its descendants, counting those already ended and
reaped (PostgreSQL: the postmaster, its backends and auxiliary processes, and backends
that closed during the cell). The launcher counts alone (its descendants are the other
processes). wrk's own CPU (the load generator, "load") comes from its exit (bench/wrk.py).

The pids come from the launcher: the bench's own system knows its children; a running
`make run` records them in its run directory (`launcher.pids`, `launcher.lock`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.wrk import LoadResult
from launcher.rundir import LOCK_FILE, PID_FILE

LOAD = "load"
LAUNCHER = "launcher"
# A pid record entry is the recorded process only if it started at the recorded time.
SAME_START_S = 0.5

# name -> (pid, CPU seconds so far)
Reading = dict[str, tuple[int, float]]


@dataclass(frozen=True)
class Part:
    """One process of the system, read with its descendants (`tree`) or alone."""

    name: str
    pid: int
    tree: bool = True


def cpu_seconds(part: Part) -> float | None:
    """CPU seconds the part has used so far; None when its process is gone."""
    try:
        root = psutil.Process(part.pid)
        processes = [root, *root.children(recursive=True)] if part.tree else [root]
    except psutil.Error:
        return None
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):  # a descendant that ended meanwhile
            times = process.cpu_times()
            total += times.user + times.system
            if part.tree:  # ended children it reaped (in none of the live processes)
                total += times.children_user + times.children_system
    return total


class CpuMeter:
    """Reads every part of the system; `parts` is asked each time (a restart changes pids)."""

    def __init__(self, parts: Callable[[], list[Part]]) -> None:
        self._parts = parts

    def names(self) -> list[str]:
        return [part.name for part in self._parts()]

    def read(self) -> Reading:
        reading: Reading = {}
        for part in self._parts():
            seconds = cpu_seconds(part)
            if seconds is not None:
                reading[part.name] = (part.pid, seconds)
        return reading


def cpu_deltas(before: Reading, after: Reading) -> dict[str, float | None]:
    """CPU seconds each part used between two readings; None when it was not found in
    both or was restarted in between (another pid: its figure would mean nothing)."""
    deltas: dict[str, float | None] = {}
    for name in dict.fromkeys([*before, *after]):
        if name in before and name in after and before[name][0] == after[name][0]:
            deltas[name] = max(0.0, after[name][1] - before[name][1])
        else:
            deltas[name] = None
    return deltas


@dataclass(frozen=True)
class CellCpu:
    """CPU seconds per part (and the load generator) over one cell."""

    concurrency: int
    requests: int
    seconds: float
    cpu_s: dict[str, float | None]

    @classmethod
    def of(cls, result: LoadResult, before: Reading, after: Reading) -> CellCpu:
        cpu_s = {**cpu_deltas(before, after), LOAD: result.load_cpu_s}
        return cls(result.concurrency, result.requests, result.seconds, cpu_s)

    def ms_per_request(self) -> dict[str, float | None]:
        if not self.requests:
            return dict.fromkeys(self.cpu_s)
        return {
            name: None if used is None else used * 1000 / self.requests
            for name, used in self.cpu_s.items()
        }

    @property
    def total_ms_per_request(self) -> float | None:
        """All parts found; None when no request was made."""
        if not self.requests:
            return None
        return sum(used for used in self.cpu_s.values() if used is not None) * 1000 / self.requests

    @property
    def busy_cores(self) -> float:
        """Cores the parts kept busy on average over the cell (the machine's use)."""
        used = sum(used for used in self.cpu_s.values() if used is not None)
        return used / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "cpu_s": {name: _rounded(used) for name, used in self.cpu_s.items()},
            "ms_per_request": {k: _rounded(v) for k, v in self.ms_per_request().items()},
            "total_ms_per_request": _rounded(self.total_ms_per_request),
            "busy_cores": round(self.busy_cores, 3),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"


def cpu_table(cells: list[CellCpu]) -> list[str]:
    """Lines of a table: a row per concurrency, a column per part (ms of CPU per request),
    then the total and the cores busy on average; '-': the part was not measured."""
    names = list(dict.fromkeys(name for cell in cells for name in cell.cpu_s))
    names = [name for name in names if name != LOAD] + [LOAD]
    widths = [max(7, len(name)) for name in names]
    header = "  conc " + " ".join(
        f"{name:>{width}}" for name, width in zip(names, widths, strict=True)
    )
    lines = [header + "    total  cores"]
    for cell in cells:
        per_request = cell.ms_per_request()
        values = " ".join(
            _cell(per_request.get(name), width) for name, width in zip(names, widths, strict=True)
        )
        lines.append(
            f"{cell.concurrency:>6} {values} {_cell(cell.total_ms_per_request, 8)}"
            f" {cell.busy_cores:>6.2f}"
        )
    return lines


def own_parts(pids: Callable[[], dict[str, int]]) -> Callable[[], list[Part]]:
    """The parts of a system this process launched: its children, and this process as
    the launcher (its main thread only waits for wrk meanwhile)."""

    def parts() -> list[Part]:
        children = [Part(name, pid) for name, pid in pids().items()]
        return [*children, Part(LAUNCHER, os.getpid(), tree=False)]

    return parts


def recorded_parts(run_dir: Path) -> Callable[[], list[Part]]:
    """The parts of a `make run` from its run directory's pid record and lock."""

    def parts() -> list[Part]:
        found = [Part(name, pid) for name, pid in _recorded_pids(run_dir / PID_FILE).items()]
        launcher = _lock_holder(run_dir / LOCK_FILE)
        return [*found, Part(LAUNCHER, launcher, tree=False)] if launcher else found

    return parts


def _recorded_pids(path: Path) -> dict[str, int]:
    try:
        entries: dict[str, dict[str, Any]] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    pids: dict[str, int] = {}
    for name, entry in entries.items():
        with contextlib.suppress(psutil.Error, KeyError, TypeError, ValueError):
            process = psutil.Process(int(entry["pid"]))
            if abs(process.create_time() - float(entry["create_time"])) <= SAME_START_S:
                pids[name] = process.pid
    return pids


def _lock_holder(path: Path) -> int | None:
    """The launcher's pid, if the lock names a live launcher."""
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        pid = int(path.read_text().strip())
        args = psutil.Process(pid).cmdline()
        if ("-m", "launcher") in itertools.pairwise(args):
            return pid
    return None
