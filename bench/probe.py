"""Round-trip probe (ingress -> Kafka -> worker -> reply topic) at several concurrencies.

Usage: `python -m bench.probe [--url http://127.0.0.1:8090] [--seconds 15] [-c 1 -c 32]`
against a running `make run`.
"""

from __future__ import annotations

import argparse
import os
import platform

from bench.scenarios import SCENARIOS
from bench.wrk import LoadResult, run_wrk

HEADER = "  conc      rps   p50 ms   p95 ms   p99 ms   max ms  errors"


def print_table(title: str, results: list[LoadResult]) -> None:
    print(f"\n{title}")
    print(HEADER)
    for r in results:
        print(
            f"{r.concurrency:>5} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.errors:>7}"
        )


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8090", help="internal listener")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("-c", "--concurrency", type=int, action="append")
    args = parser.parse_args()
    levels = args.concurrency or [1, 32]
    lua = SCENARIOS["probe"].script()
    run_wrk(f"{args.url}/internal/v1/probe", 4, 3, lua)  # warm-up, not reported
    results = [run_wrk(f"{args.url}/internal/v1/probe", c, args.seconds, lua) for c in levels]
    print_table(f"probe round trip, {args.seconds} s each; machine: {machine()}", results)


if __name__ == "__main__":
    main()
