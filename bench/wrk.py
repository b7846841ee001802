"""Drive `wrk` against one endpoint and read its latency distribution.

wrk, not a Python load generator: on two cores a Python client eats most of a
core and reports half the throughput with tails five times longer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # CPU seconds (user + system) wrk itself used: the load generator's share of the machine.
    load_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian package)")
    return found


def run_wrk(url: str, concurrency: int, seconds: int, lua: str) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    command = [
        ensure_wrk(),
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        script.name,
        url,
    ]
    try:
        returncode, stdout, stderr, cpu_s = _run_measured(command)
    finally:
        Path(script.name).unlink(missing_ok=True)
    if returncode != 0:
        raise subprocess.CalledProcessError(returncode, command, stdout, stderr)
    match = re.search(r"^RESULT (.+)$", stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout}\n{stderr}")
    requests, duration_us, errors, p50, p95, p99, max_us, _, _ = (
        int(float(part)) for part in match.group(1).split()
    )
    return LoadResult(
        concurrency=concurrency,
        requests=requests,
        seconds=duration_us / 1e6,
        errors=errors,
        p50_ms=p50 / 1000,
        p95_ms=p95 / 1000,
        p99_ms=p99 / 1000,
        max_ms=max_us / 1000,
        load_cpu_s=cpu_s,
    )


def _run_measured(command: list[str]) -> tuple[int, str, str, float]:
    """Run `command` to its end: exit code, stdout, stderr and the CPU seconds it used.

    Reaped with wait4, whose resource usage is that one process's (the bench's other
    children, e.g. the processes of its own system, are not in it)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # interrupted: leave no wrk running
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), usage.ru_utime + usage.ru_stime
