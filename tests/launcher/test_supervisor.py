"""ChildProcess: output prefixing, restart with backoff, stop with SIGKILL escalation."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Callable

import psutil  # type: ignore[import-untyped, unused-ignore]
import pytest

from launcher.logs import Log, OutputSink
from launcher.supervisor import Backoff, ChildProcess, ChildSpec
from tests.launcher.dummies import dummy

pytestmark = pytest.mark.timeout(30)


class Output:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.sink = OutputSink(self.stream)
        self.log = Log(self.sink)

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def events(self) -> list[dict[str, object]]:
        prefix = "launcher | "
        return [json.loads(line[len(prefix) :]) for line in self.lines if line.startswith(prefix)]


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_backoff_doubles_to_ten_seconds_while_the_process_dies_young() -> None:
    backoff = Backoff()
    assert [backoff.delay(0.1) for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_process_that_had_been_running_comes_back_at_once_and_resets_the_backoff() -> None:
    backoff = Backoff()
    assert [backoff.delay(0.1) for _ in range(3)] == [0.5, 1.0, 2.0]
    assert [backoff.delay(3.5) for _ in range(3)] == [0.1, 0.1, 0.1]
    assert backoff.delay(0.1) == 0.5


async def test_child_output_and_errors_are_passed_on_prefixed_with_its_name() -> None:
    out = Output()
    child = ChildProcess(ChildSpec("dummy-1", dummy()), out.sink, out.log)
    await child.start()
    await until(lambda: "dummy-1 | a line on stderr" in out.lines)
    await child.stop(2.0)
    started = [line for line in out.lines if line.startswith('dummy-1 | {"event": "dummy started"')]
    assert len(started) == 1


async def test_dying_child_is_restarted_with_doubling_backoff() -> None:
    out = Output()
    spawned: list[float] = []
    child = ChildProcess(
        ChildSpec("dier", [sys.executable, "-c", "import sys; sys.exit(3)"]),
        out.sink,
        out.log,
        on_spawn=lambda _: spawned.append(time.monotonic()),
    )
    await child.start()
    await until(lambda: len(spawned) >= 4)
    await child.stop(1.0)
    gaps = [later - earlier for earlier, later in itertools.pairwise(spawned)]
    assert 0.45 <= gaps[0] < 1.0
    assert 0.95 <= gaps[1] < 1.6
    assert 1.95 <= gaps[2] < 2.7
    assert child.exit_codes[:3] == [3, 3, 3]
    assert child.restarts >= 3
    restarts = [e for e in out.events() if e["event"] == "process exited; restarting"]
    assert [e["restart_in_s"] for e in restarts[:3]] == [0.5, 1.0, 2.0]
    assert any(e["event"] == "process restarted" for e in out.events())


async def test_child_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    out = Output()
    child = ChildProcess(ChildSpec("stubborn", dummy("--ignore-term")), out.sink, out.log)
    await child.start()
    await until(lambda: any("dummy started" in line for line in out.lines))
    pid = child.pid
    assert pid is not None
    began = time.monotonic()
    await child.stop(1.0)
    took = time.monotonic() - began
    assert 0.9 <= took < 3.0
    assert gone(pid)
    assert child.exit_codes == [-signal.SIGKILL]
    assert any(e["event"] == "process ignored the stop signal; killing it" for e in out.events())


async def test_stop_ends_what_the_child_forked_too() -> None:
    out = Output()
    child = ChildProcess(ChildSpec("forker", dummy("--fork")), out.sink, out.log)
    await child.start()
    await until(lambda: any("dummy started" in line for line in out.lines))
    assert child.pid is not None
    grandchildren = psutil.Process(child.pid).children()
    assert grandchildren
    await child.stop(2.0)
    await until(lambda: all(gone(p.pid) for p in grandchildren), 3.0)


async def test_a_stopped_sigstopped_child_still_stops_at_once() -> None:
    out = Output()
    child = ChildProcess(ChildSpec("frozen", dummy()), out.sink, out.log)
    await child.start()
    await until(lambda: any("dummy started" in line for line in out.lines))
    pid = child.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    began = time.monotonic()
    await child.stop(5.0)
    assert time.monotonic() - began < 2.0  # SIGCONT lets it act on SIGTERM
    assert child.exit_codes == [0]


async def test_restart_replaces_the_process_without_backoff() -> None:
    out = Output()
    child = ChildProcess(ChildSpec("again", dummy()), out.sink, out.log)
    await child.start()
    first = child.pid
    await child.restart("test asked", grace=2.0)
    assert child.pid is not None and child.pid != first
    assert child.restarts == 1
    assert first is not None and gone(first)
    await child.stop(2.0)
    assert any(e.get("reason") == "test asked" for e in out.events())
