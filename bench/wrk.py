"""Drive `wrk` against one endpoint and read its latency distribution.

wrk, not a Python load generator: on two cores a Python client eats most of a
core and reports half the throughput with tails five times longer.
"""

from __future__ import annotations

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
    try:
        completed = subprocess.run(
            [
                ensure_wrk(),
                "-t1",
                f"-c{concurrency}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    match = re.search(r"^RESULT (.+)$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
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
    )
