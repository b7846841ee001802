"""One supervised child process: output prefixing, restart with backoff, stop with escalation.

Each child runs in its own session (so its own process group): a stop signal reaches
the child and anything it forked, and a group SIGKILL leaves no orphan behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launcher.logs import Log, OutputSink

STREAM_LIMIT = 1024 * 1024  # longest line read at once; longer ones are split
DRAIN_TIMEOUT = 1.0  # how long to wait for the rest of a dead child's output


@dataclass(frozen=True)
class ChildSpec:
    """What to run and how to stop it."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    # Send the stop signal to the whole process group, or to the leader only
    # (PostgreSQL: the postmaster shuts its own children down).
    signal_group: bool = True
    stop_grace: float = 8.0
    restart: bool = True
    user: int | None = None
    group: int | None = None


@dataclass
class Backoff:
    """A process that had been running a while comes back at once (a killed worker's
    partitions wait for it); one that keeps dying young waits 0.5 s doubling to 10 s, so
    a crash loop does not spin."""

    quick: float = 0.1
    initial: float = 0.5
    maximum: float = 10.0
    settled_after: float = 3.0
    _next: float = field(default=0.0, init=False)

    def delay(self, ran_for: float) -> float:
        if ran_for >= self.settled_after:
            self._next = 0.0
            return self.quick
        current = self._next or self.initial
        self._next = min(current * 2, self.maximum)
        return current

    def reset(self) -> None:
        self._next = 0.0


SpawnHook = Callable[["ChildProcess"], None]
RespawnHook = Callable[["ChildProcess"], Coroutine[Any, Any, None]]


class ChildProcess:
    """Runs `spec.command`, passes its output on, restarts it when it dies, stops it on demand."""

    def __init__(
        self,
        spec: ChildSpec,
        sink: OutputSink,
        log: Log,
        *,
        on_spawn: SpawnHook | None = None,
        after_respawn: RespawnHook | None = None,
        before_respawn: RespawnHook | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.spec = spec
        self._sink = sink
        self._log = log
        self._on_spawn = on_spawn
        self._after_respawn = after_respawn
        # Awaited after an unplanned death, before the backoff and the new process.
        self._before_respawn = before_respawn
        self._backoff = backoff or Backoff()
        self._proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._respawn_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._restart_reason: str | None = None
        self._wake = asyncio.Event()
        self._spawned = asyncio.Event()
        self._started_at = 0.0
        self.restarts = 0
        self.exit_codes: list[int] = []
        self.recent_output: deque[str] = deque(maxlen=200)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        """Pid of the running process (None between a death and its restart)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def start(self) -> None:
        """Spawn the first process (OSError if it cannot be executed) and begin supervising."""
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"supervise {self.name}")

    async def stop(self, grace: float | None = None) -> None:
        """Stop for good: stop signal, SIGKILL after `grace` seconds, no restart."""
        self._stopping = True
        self._wake.set()
        self._spawned.set()  # release restart() callers
        proc = self._proc
        if proc is not None and proc.returncode is None:
            began = time.monotonic()
            await self._terminate(proc, self.spec.stop_grace if grace is None else grace)
            self._log.info(
                "process stopped",
                process=self.name,
                exit_code=proc.returncode,
                took_s=round(time.monotonic() - began, 2),
            )
        if self._supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for task in list(self._respawn_tasks):
            task.cancel()
        await asyncio.gather(*self._respawn_tasks, return_exceptions=True)

    async def restart(self, reason: str, grace: float | None = None, *, kill: bool = False) -> None:
        """Stop the current process and start a new one at once (no backoff).

        `kill`: SIGKILL at once, without the stop signal (for a process that must not run
        another instruction, such as one frozen while its broker was away)."""
        if self._stopping:
            return
        self._restart_reason = reason
        self._spawned.clear()
        self._wake.set()
        proc = self._proc
        if proc is not None and proc.returncode is None:
            if kill:
                kill_group(proc.pid)
                await proc.wait()
            else:
                await self._terminate(proc, self.spec.stop_grace if grace is None else grace)
        await self._spawned.wait()

    async def _spawn(self) -> None:
        spec = self.spec
        proc = await asyncio.create_subprocess_exec(
            *spec.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(spec.env) if spec.env is not None else None,
            cwd=spec.cwd,
            start_new_session=True,
            user=spec.user,
            group=spec.group,
            extra_groups=[] if spec.group is not None else None,
            limit=STREAM_LIMIT,
        )
        self._proc = proc
        self._started_at = time.monotonic()
        assert proc.stdout is not None
        self._pump = asyncio.create_task(self._pass_output(proc.stdout), name=f"output {self.name}")
        self._spawned.set()
        if self._on_spawn is not None:
            self._on_spawn(self)

    async def _supervise(self) -> None:
        while True:
            proc = self._proc
            if proc is not None:
                code = await proc.wait()
                self.exit_codes.append(code)
                await self._finish_output()
                kill_group(proc.pid)
            if self._stopping:
                return
            if self._restart_reason is None and self._before_respawn is not None:
                await self._before_respawn(self)
            ran_for = time.monotonic() - self._started_at
            if self._restart_reason is not None:
                reason, self._restart_reason = self._restart_reason, None
                self._backoff.reset()
                self._log.info("restarting", process=self.name, reason=reason)
            else:
                exit_code = proc.returncode if proc is not None else None
                if not self.spec.restart:
                    self._log.warning("process exited", process=self.name, exit_code=exit_code)
                    return
                delay = self._backoff.delay(ran_for)
                self._log.warning(
                    "process exited; restarting",
                    process=self.name,
                    exit_code=exit_code,
                    ran_s=round(ran_for, 2),
                    restart_in_s=delay,
                    restarts=self.restarts,
                )
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                if self._stopping:
                    return
                if self._restart_reason is not None:  # asked for while we were waiting
                    self._restart_reason = None
                    self._backoff.reset()
            try:
                await self._spawn()
            except OSError as exc:
                self._proc = None
                self._started_at = time.monotonic()
                self._log.error("cannot start process", process=self.name, error=str(exc))
                continue
            if self._stopping and self._proc is not None:  # stop() came while spawning
                await self._terminate(self._proc, 1.0)
                continue
            self.restarts += 1
            self._log.info(
                "process restarted", process=self.name, pid=self.pid, restarts=self.restarts
            )
            if self._after_respawn is not None:
                task = asyncio.create_task(self._after_respawn(self), name=f"respawned {self.name}")
                self._respawn_tasks.add(task)
                task.add_done_callback(self._respawn_tasks.discard)

    async def _terminate(self, proc: asyncio.subprocess.Process, grace: float) -> None:
        sig = self.spec.stop_signal
        if self.spec.signal_group:
            signal_group(proc.pid, sig)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
        # A stopped (SIGSTOP) process only acts on the signal once it runs again.
        signal_group(proc.pid, signal.SIGCONT)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            self._log.warning(
                "process ignored the stop signal; killing it",
                process=self.name,
                pid=proc.pid,
                signal=signal.Signals(sig).name,
                grace_s=grace,
            )
            kill_group(proc.pid)
            await proc.wait()

    async def _pass_output(self, stream: asyncio.StreamReader) -> None:
        # Whatever the pipe holds is read at once and its whole lines written in one go:
        # under load a child writes hundreds of lines a second, and one write per line
        # made this relay a noticeable share of the machine.
        partial = b""
        while True:
            chunk = await stream.read(STREAM_LIMIT)
            if not chunk:
                if partial:
                    self._pass_lines([partial])
                return
            *whole, partial = (partial + chunk).split(b"\n")
            if len(partial) >= STREAM_LIMIT:  # an overlong line: passed on in pieces
                whole.append(partial)
                partial = b""
            if whole:
                self._pass_lines(whole)

    def _pass_lines(self, raw_lines: list[bytes]) -> None:
        lines = [raw.decode("utf-8", errors="replace").rstrip("\r") for raw in raw_lines]
        self.recent_output.extend(lines)
        self._sink.write_lines(self.name, lines)

    async def _finish_output(self) -> None:
        pump = self._pump
        if pump is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(pump), DRAIN_TIMEOUT)
        except TimeoutError:
            # Something the child forked still holds the pipe; the group kill ends it.
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_group(pgid: int) -> None:
    signal_group(pgid, signal.SIGKILL)
