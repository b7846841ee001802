"""Is the system steady under time? Authorize at one concurrency for N minutes, minute by minute.

Usage: `python -m bench.soak [--minutes 10] [-c 32]` against a running `make run` (fresh is
best). Prints each minute's throughput and latency, the last minute's share of the first,
every process's memory at the start, half-way and at the end, and how many requests the
ingress still awaits a reply for afterwards (should be 0). Figures go to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

import local_defaults
from bench.cpu import CpuMeter, Part, cpu_deltas, recorded_parts
from bench.probe import machine
from bench.run import RESULTS_DIR
from bench.scenarios import SCENARIOS
from bench.target import Target
from bench.wrk import LoadResult, ensure_wrk, run_wrk
from launcher.config import DEFAULT_RUN_DIR


def resident_mib(parts: list[Part]) -> dict[str, float]:
    """Memory of each part of the system, MiB: proportional set size (PSS) of the process
    and its descendants, so that memory PostgreSQL's processes share is counted once."""
    totals: dict[str, float] = {}
    for part in parts:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(part.pid)
            tree = [root, *root.children(recursive=True)] if part.tree else [root]
            mib = 0.0
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    mib += process.memory_full_info().pss / 2**20
            totals[part.name] = round(mib, 1)
    return totals


class CpuShare:
    """CPU % of one core per part of the system since the last reading."""

    def __init__(self, meter: CpuMeter) -> None:
        self._meter = meter
        self._last, self._at = meter.read(), time.monotonic()

    def read(self) -> dict[str, int]:
        reading, now = self._meter.read(), time.monotonic()
        used = cpu_deltas(self._last, reading)
        elapsed = now - self._at
        self._last, self._at = reading, now
        return {name: round(100 * (s or 0.0) / elapsed) for name, s in used.items()}


def awaiting_replies(ingress: str) -> float:
    text = httpx.get(f"{ingress}/metrics", timeout=10).text
    match = re.search(r"^kafka_requests_awaiting_reply(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingress", default="http://127.0.0.1:8080")
    parser.add_argument("--internal", default="http://127.0.0.1:8090")
    parser.add_argument("--sandbox", default=local_defaults.SANDBOX_URL)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument(
        "--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="the `make run`'s run directory"
    )
    args = parser.parse_args()
    parts = recorded_parts(args.run_dir)
    names = [part.name for part in parts()]
    if not names:
        raise SystemExit(f"no running system recorded in {args.run_dir} (start `make run`)")
    ensure_wrk()
    scenario = SCENARIOS["authorize"]
    assert scenario.setup is not None
    scenario.setup(Target(args.ingress, args.internal, args.sandbox))
    url = f"{args.ingress}{scenario.path}"
    started_at = datetime.now(UTC)
    memory = [resident_mib(parts())]
    minutes: list[LoadResult] = []
    cpu_by_minute: list[dict[str, int]] = []
    cpu = CpuShare(CpuMeter(parts))
    print(f"authorize, concurrency {args.concurrency}, {args.minutes} x 60 s; {machine()}")
    print(
        "minute      rps   p50 ms   p95 ms   p99 ms   max ms  errors   CPU % of a core: "
        + " ".join(names)
    )
    for minute in range(1, args.minutes + 1):
        result = run_wrk(url, args.concurrency, 60, scenario.script())
        minutes.append(result)
        cpu_by_minute.append(cpu.read())
        memory.append(resident_mib(parts()))
        shares = " ".join(f"{cpu_by_minute[-1].get(name, 0):>{len(name)}}" for name in names)
        print(
            f"{minute:>6} {result.rps:>8.0f} {result.p50_ms:>8.1f} {result.p95_ms:>8.1f} "
            f"{result.p99_ms:>8.1f} {result.max_ms:>8.1f} {result.errors:>7}   {shares}",
            flush=True,
        )
    time.sleep(1)  # the last replies land
    waiting = awaiting_replies(args.internal)
    share = minutes[-1].rps / minutes[0].rps if minutes[0].rps else 0.0
    total = sum(m.requests for m in minutes)
    errors = sum(m.errors for m in minutes)
    print(f"\nlast minute / first minute: {share:.2f}; {total} requests, {errors} errors")
    middle = len(memory) // 2
    print(f"memory (PSS), MiB      start  minute {middle:<2}     end")
    for name in names:
        start, half, end = (memory[i].get(name, 0.0) for i in (0, middle, -1))
        print(f"  {name:<18} {start:>7.1f} {half:>10.1f} {end:>7.1f}")
    print(f"requests awaiting a reply after the run: {waiting:.0f}")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"soak-{started_at:%Y%m%dT%H%M%SZ}.json"
    path.write_text(
        json.dumps(
            {
                "started_at": started_at.isoformat(),
                "machine": machine(),
                "concurrency": args.concurrency,
                "minutes": [asdict(m) for m in minutes],
                "cpu_percent_by_minute": cpu_by_minute,
                "last_over_first": share,
                "pss_mib_by_minute": memory,
                "awaiting_replies_after": waiting,
            },
            indent=2,
        )
    )
    print(f"figures: {path.relative_to(RESULTS_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
