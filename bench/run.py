"""`make bench`: throughput and latency of each scenario at several concurrencies.

Uses the system at --ingress / --internal / --sandbox (a running `make run`), or starts one
on the default ports when nothing answers there. Prints a table, writes the
figures as JSON and a PNG chart under bench/results/, and compares with the
previous run when there is one.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.probe import HEADER, machine
from bench.scenarios import SCENARIOS
from bench.wrk import LoadResult, ensure_wrk, run_wrk

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_CONCURRENCY = [1, 8, 32, 64]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _start_local_system(stack: ExitStack) -> None:
    from launcher.stack import LocalStack, StackConfig

    RESULTS_DIR.mkdir(exist_ok=True)
    log_path = RESULTS_DIR / "system.log"
    print(f"nothing answers on the default ports: starting the system (its log: {log_path.name})")
    output = stack.enter_context(log_path.open("a", buffering=1))
    local = stack.enter_context(LocalStack(StackConfig(output=output)))
    local.wait_until_healthy(120)


def _table(results: dict[str, list[LoadResult]]) -> None:
    for name, rows in results.items():
        print(f"\n{name}")
        print(HEADER)
        for r in rows:
            print(
                f"{r.concurrency:>6} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
                f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.errors:>7}"
            )


def _ratios(results: dict[str, list[LoadResult]], concurrency: int) -> dict[str, float]:
    def rps(name: str) -> float | None:
        for row in results.get(name, []):
            if row.concurrency == concurrency:
                return row.rps
        return None

    authorize, probe, ping = rps("authorize"), rps("probe"), rps("ping")
    ratios: dict[str, float] = {}
    if authorize and probe:
        ratios["authorize/probe"] = round(authorize / probe, 3)
    if authorize and ping:
        ratios["authorize/ping"] = round(authorize / ping, 3)
    return ratios


def _chart(results: dict[str, list[LoadResult]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, p99) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, rows in results.items():
        levels = [r.concurrency for r in rows]
        throughput.plot(levels, [r.rps for r in rows], marker="o", label=name)
        p99.plot(levels, [r.p99_ms for r in rows], marker="o", label=name)
    throughput.set(title="throughput", xlabel="concurrency", ylabel="requests/s", xscale="log")
    p99.set(title="p99 latency", xlabel="concurrency", ylabel="ms", xscale="log", yscale="log")
    for axes in (throughput, p99):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _previous(exclude: Path) -> dict[str, Any] | None:
    runs = sorted(p for p in RESULTS_DIR.glob("bench-*.json") if p != exclude)
    return json.loads(runs[-1].read_text()) if runs else None


def _compare(previous: dict[str, Any], results: dict[str, list[LoadResult]]) -> None:
    print(f"\ncompared with {previous['started_at']} (rps now / before at each concurrency)")
    for name, rows in results.items():
        before = {r["concurrency"]: r for r in previous["results"].get(name, [])}
        cells = []
        for row in rows:
            old = before.get(row.concurrency)
            if old and old["requests"]:
                old_rps = old["requests"] / old["seconds"]
                cells.append(f"c{row.concurrency} {row.rps / old_rps:.2f}x")
        if cells:
            print(f"  {name:<17} " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingress", default="http://127.0.0.1:8080")
    parser.add_argument("--internal", default="http://127.0.0.1:8090")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8081")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("-c", "--concurrency", type=int, action="append")
    parser.add_argument("-s", "--scenario", action="append", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    ensure_wrk()
    levels = args.concurrency or DEFAULT_CONCURRENCY
    names = args.scenario or list(SCENARIOS)
    started_at = datetime.now(UTC)
    results: dict[str, list[LoadResult]] = {}
    with ExitStack() as stack:
        if not _answers(args.ingress):
            _start_local_system(stack)
        for name in names:
            scenario = SCENARIOS[name]
            base = args.internal if scenario.internal else args.ingress
            if scenario.setup is not None:
                scenario.setup(base, args.sandbox)
            url = f"{base}{scenario.path}"
            run_wrk(url, 4, 2, scenario.script())  # warm-up, not reported
            results[name] = []
            for concurrency in levels:
                results[name].append(run_wrk(url, concurrency, args.seconds, scenario.script()))
                time.sleep(1)

    print(
        f"\nmachine: {machine()}; {args.seconds} s per cell; started {started_at:%Y-%m-%d %H:%M}Z"
    )
    _table(results)
    ratios = _ratios(results, 32)
    if ratios:
        print("\nratios at concurrency 32: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    RESULTS_DIR.mkdir(exist_ok=True)
    stem = RESULTS_DIR / f"bench-{started_at:%Y%m%dT%H%M%SZ}"
    data = {
        "started_at": started_at.isoformat(),
        "machine": machine(),
        "seconds": args.seconds,
        "results": {name: [asdict(r) for r in rows] for name, rows in results.items()},
        "ratios_c32": ratios,
    }
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(data, indent=2))
    _chart(results, stem.with_suffix(".png"))
    print(f"\nfigures: {json_path.relative_to(RESULTS_DIR.parent.parent)}")
    print(f"chart:   {stem.with_suffix('.png').relative_to(RESULTS_DIR.parent.parent)}")
    previous = _previous(json_path)
    if previous is not None:
        _compare(previous, results)


if __name__ == "__main__":
    main()
