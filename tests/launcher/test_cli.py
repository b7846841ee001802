"""`python -m launcher` as a process: Ctrl-C, a killed launcher, a port in use."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]
import pytest

from launcher.ports import free_port, is_listening, is_port_free
from launcher.stack import PROJECT_ROOT
from tests.launcher.dummies import dummy_commands, wait_until

pytestmark = pytest.mark.timeout(60)
RUN_LAUNCHER = Path(__file__).with_name("run_launcher.py")


class Launcher:
    """A launcher process whose output lines are collected as they come."""

    def __init__(self, fields: dict[str, Any]) -> None:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
        for key in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
            env.pop(key, None)
        self.proc = subprocess.Popen(
            [sys.executable, str(RUN_LAUNCHER), json.dumps(fields)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        prefix = "launcher | "
        return [json.loads(x[len(prefix) :]) for x in self.lines if x.startswith(prefix)]

    def event(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events() if e["event"] == name), None)

    def wait_for(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        wait_until(
            lambda: self.event(name) is not None or self.proc.poll() is not None,
            timeout,
            f"launcher event {name!r}",
        )
        found = self.event(name)
        assert found is not None, "\n".join(self.lines[-30:])
        return found

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


def launcher_fields(run_dir: Path) -> dict[str, Any]:
    return {
        "run_dir": str(run_dir),
        "broker_port": free_port(),
        "postgres_port": free_port(),
        "ingress_ports": [free_port()],
        # Never the defaults: a `make run` on this machine holds them.
        "ingress_internal_ports": [free_port()],
        "sandbox_port": free_port(),
        "workers": 2,
        "worker_web_ports": [free_port(), free_port()],
        "stop_grace": 3.0,
        **dummy_commands(),
    }


def ports_of(fields: dict[str, Any]) -> list[int]:
    return [
        fields["broker_port"],
        fields["postgres_port"],
        fields["sandbox_port"],
        *fields["ingress_ports"],
        *fields["worker_web_ports"],
    ]


def alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def every_process_of(pids: dict[str, int]) -> list[int]:
    """The children and everything they forked (PostgreSQL's backends included)."""
    found = list(pids.values())
    for pid in pids.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            found += [child.pid for child in psutil.Process(pid).children(recursive=True)]
    return found


@pytest.fixture
def launchers() -> Iterator[Callable[[dict[str, Any]], Launcher]]:
    started: list[Launcher] = []

    def start(fields: dict[str, Any]) -> Launcher:
        launcher = Launcher(fields)
        started.append(launcher)
        return launcher

    yield start
    for launcher in started:
        if launcher.proc.poll() is None:
            launcher.stop(signal.SIGTERM)


def test_ctrl_c_stops_everything_and_frees_every_port(
    tmp_path: Path, launchers: Callable[[dict[str, Any]], Launcher]
) -> None:
    fields = launcher_fields(tmp_path / "run")
    launcher = launchers(fields)
    pids: dict[str, int] = launcher.wait_for("stack started")["pids"]
    assert set(pids) == {"broker", "postgres", "sandbox", "worker-1", "worker-2", "ingress-1"}
    everything = every_process_of(pids)
    began = time.monotonic()
    assert launcher.stop(signal.SIGINT) == 0
    assert time.monotonic() - began < 15
    assert [pid for pid in everything if alive(pid)] == []
    assert [port for port in ports_of(fields) if not is_port_free(port)] == []
    assert not (tmp_path / "run" / "launcher.pids").exists()
    stopping = [line.split(" | ")[0] for line in launcher.lines if "Shutting" in line]
    assert stopping == [] or stopping[0] == "ingress-1"
    # ingress first, then workers, then sandbox, infrastructure last
    order = [e["process"] for e in launcher.events() if e["event"] == "process stopped"]
    assert order.index("ingress-1") < order.index("worker-1") < order.index("sandbox")
    assert order.index("sandbox") < min(order.index("broker"), order.index("postgres"))


def test_start_after_a_killed_launcher_ends_its_leftovers_and_runs(
    tmp_path: Path, launchers: Callable[[dict[str, Any]], Launcher]
) -> None:
    fields = launcher_fields(tmp_path / "run")
    first = launchers(fields)
    old: dict[str, int] = first.wait_for("stack started")["pids"]
    wait_until(lambda: all(is_listening(port) for port in ports_of(fields)), 10, "all up")
    first.stop(signal.SIGKILL)
    # A crash of PostgreSQL too: a stale postmaster.pid stays behind.
    os.kill(old["postgres"], signal.SIGKILL)
    assert alive(old["broker"]) and alive(old["ingress-1"])

    second = launchers(fields)
    second.wait_for("stack started")
    leftovers = {
        e["process"] for e in second.events() if e["event"].startswith("ending a process left")
    }
    assert {"broker", "ingress-1", "worker-1", "worker-2", "sandbox"} <= leftovers
    assert second.event("removing a stale postmaster.pid (its server is not running)")
    assert [name for name, pid in old.items() if alive(pid)] == []
    assert second.stop(signal.SIGTERM) == 0


def test_port_in_use_is_named_and_nothing_starts(
    tmp_path: Path, launchers: Callable[[dict[str, Any]], Launcher]
) -> None:
    fields = launcher_fields(tmp_path / "run")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", fields["ingress_ports"][0]))
        holder.listen()
        launcher = launchers(fields)
        code = launcher.proc.wait(15)
    error = launcher.event("cannot start")
    assert code == 1
    assert error is not None
    assert f"port {fields['ingress_ports'][0]} for ingress-1 is already in use" in error["error"]
    assert launcher.event("process started") is None
    assert is_port_free(fields["broker_port"])


def test_second_launcher_on_the_same_run_dir_refuses_and_leaves_the_first_alone(
    tmp_path: Path, launchers: Callable[[dict[str, Any]], Launcher]
) -> None:
    fields = launcher_fields(tmp_path / "run")
    first = launchers(fields)
    pids: dict[str, int] = first.wait_for("stack started")["pids"]
    second = launchers({**launcher_fields(tmp_path / "run"), "run_dir": fields["run_dir"]})
    assert second.proc.wait(15) == 1
    error = second.event("cannot start")
    assert error is not None and "another launcher" in error["error"]
    assert (tmp_path / "run" / "launcher.pids").exists()
    assert all(alive(pid) for pid in pids.values())
    assert first.stop(signal.SIGINT) == 0
