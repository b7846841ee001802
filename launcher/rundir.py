"""The run directory (`.run/`): one launcher at a time, and the pids of its children.

The lock is an flock, so the kernel drops it when a launcher dies however it dies.
The pid record lets the next launcher end what a killed one left running: an entry
is ours only if a process with that pid still has the recorded start time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from pathlib import Path
from typing import Any, TextIO

import psutil  # type: ignore[import-untyped, unused-ignore]

from launcher.logs import Log

LOCK_FILE = "launcher.lock"
PID_FILE = "launcher.pids"


class AnotherLauncherRunning(Exception):
    """A live launcher already owns this run directory."""


class RunLock:
    """Exclusive ownership of a run directory for the life of this process."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._file: TextIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise AnotherLauncherRunning(
                f"another launcher (pid {holder}) is running with {self.path.parent}; "
                "stop it first (Ctrl-C in its terminal)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    @property
    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class PidRecord:
    """`.run/launcher.pids`: {name: {pid, create_time, cmdline}} of the running children."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / PID_FILE
        self._entries: dict[str, dict[str, Any]] = {}

    def record(self, name: str, pid: int, stop_signal: int = signal.SIGTERM) -> None:
        try:
            proc = psutil.Process(pid)
            entry: dict[str, Any] = {
                "pid": pid,
                "create_time": proc.create_time(),
                "cmdline": proc.cmdline(),
                "stop_signal": int(stop_signal),
            }
        except psutil.Error:
            return  # already gone: nothing to clean up later
        self._entries[name] = entry
        self._write()

    def clear(self) -> None:
        self._entries = {}
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._entries, indent=1))
        tmp.replace(self.path)

    def end_leftovers(self, log: Log, grace: float = 3.0) -> list[str]:
        """Stop processes a previous, dead launcher left behind; returns their names."""
        if not self.path.exists():
            return []
        try:
            entries: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            entries = {}
        found: dict[str, tuple[psutil.Process, int]] = {}
        for name, entry in entries.items():
            proc = _same_process(entry)
            if proc is None:
                continue
            log.warning(
                "ending a process left over by a previous launcher",
                process=name,
                pid=proc.pid,
                cmdline=" ".join(entry.get("cmdline", [])),
            )
            found[name] = (proc, int(entry.get("stop_signal", signal.SIGTERM)))
        end_process_groups(list(found.values()), grace)
        self.path.unlink(missing_ok=True)
        return list(found)


def _same_process(entry: dict[str, Any]) -> psutil.Process | None:
    try:
        proc = psutil.Process(int(entry["pid"]))
        if abs(proc.create_time() - float(entry["create_time"])) > 0.5:
            return None  # the pid was reused by something else
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.Error, KeyError, ValueError, TypeError):
        return None
    return proc


def end_process_groups(procs: list[tuple[psutil.Process, int]], grace: float) -> None:
    """Each (process, signal): the signal to the process and its group (SIGCONT too, in case
    it was stopped), then SIGKILL to whatever still runs after `grace` seconds."""
    for proc, sig in procs:
        for target_sig in (sig, signal.SIGCONT):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(proc.pid, target_sig)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, target_sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(proc) for proc, _ in procs):
        time.sleep(0.05)
    for proc, _ in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if _alive(proc):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(proc.pid, signal.SIGKILL)
    for proc, _ in procs:
        if _alive(proc):
            with contextlib.suppress(psutil.Error):
                proc.wait(timeout=grace)


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
