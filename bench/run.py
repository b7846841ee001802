"""`make bench`: throughput and latency of each scenario at several concurrencies, and the
same scenarios against peers as slow as real ones.

Uses the system at --ingress / --internal / --sandbox (a running `make run`), or
starts one on the default ports when nothing answers there; --own-stack starts one
of its own on free ports instead (never meeting a `make run`), on --broker. Prints
a table per scenario, then each slow-peer cell (a peer given a latency profile in
the sandbox) as a share of the instant-peer cell of the same scenario and
concurrency measured just before it; and per scenario the CPU each process of the
system (and wrk, "load") spent per request, in ms. Writes the figures as JSON and a PNG
chart under bench/results/, and compares with the previous run when there is one.
"""

from __future__ import annotations

import argparse
import json
import os
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import local_defaults
from bench.cells import Cells
from bench.cpu import CellCpu, CpuMeter
from bench.probe import machine
from bench.report import (
    draw_chart,
    previous_run,
    print_comparison,
    print_cpu_tables,
    print_slow_cells,
    print_tables,
    ratios,
)
from bench.scenarios import SCENARIOS
from bench.slow_peers import (
    DEFAULT_SLOW_CONCURRENCY,
    SLOW_PEERS,
    SlowCell,
    SlowPeer,
    clear_latencies,
)
from bench.system import System, find_or_start_system, start_own_system
from bench.target import Target
from bench.wrk import LoadResult, ensure_wrk
from launcher.config import DEFAULT_RUN_DIR

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_CONCURRENCY = [1, 8, 32, 64]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingress", default="http://127.0.0.1:8080", help="partner listener")
    parser.add_argument(
        "--internal",
        default="http://127.0.0.1:8090",
        help="internal listener (probe, ride events, finish-ride); the partner one if silent",
    )
    parser.add_argument("--sandbox", default=local_defaults.SANDBOX_URL)
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="run directory of the running system (its launcher's pids, for CPU per request)",
    )
    parser.add_argument(
        "--own-stack",
        action="store_true",
        help="start a system of its own on free ports in a temporary run directory",
    )
    parser.add_argument(
        "--broker",
        choices=["kafka", "tansu"],
        default=os.environ.get("BROKER") or None,
        help="broker of a system the bench starts (default: BROKER, else the launcher's choice)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="per cell")
    parser.add_argument("-c", "--concurrency", type=int, action="append")
    parser.add_argument("-s", "--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument(
        "--slow",
        action="append",
        choices=[*sorted(SLOW_PEERS), "none"],
        help="slow-peer cells to run (default: those of the chosen scenarios)",
    )
    parser.add_argument("--slow-concurrency", type=int, action="append")
    parser.add_argument(
        "--rides", type=int, help="meter rides per finish-ride cell (default: sized)"
    )
    return parser.parse_args()


def _slow_peers(args: argparse.Namespace, names: list[str]) -> list[SlowPeer]:
    if args.slow is None:
        return [peer for peer in SLOW_PEERS.values() if peer.with_scenario in names]
    return [SLOW_PEERS[name] for name in dict.fromkeys(args.slow) if name != "none"]


def _system(stack: ExitStack, args: argparse.Namespace) -> System:
    RESULTS_DIR.mkdir(exist_ok=True)
    log_path = RESULTS_DIR / "system.log"
    if args.own_stack:
        return start_own_system(stack, args.broker, log_path)
    target = Target(args.ingress, args.internal, args.sandbox)
    return find_or_start_system(stack, target, args.broker, log_path, args.run_dir)


def _cpu_meter(system: System) -> CpuMeter:
    meter = CpuMeter(system.parts)
    names = meter.names()
    if names:
        print(f"CPU per request of: {', '.join(names)} and wrk (load)")
    else:
        print("CPU per request: no pid of the system found (no launcher pid record): wrk only")
    return meter


def main() -> None:
    args = _arguments()
    ensure_wrk()
    levels = args.concurrency or DEFAULT_CONCURRENCY
    names = args.scenario or list(SCENARIOS)
    peers = _slow_peers(args, names)
    slow_levels = args.slow_concurrency or DEFAULT_SLOW_CONCURRENCY
    started_at = datetime.now(UTC)
    results: dict[str, list[LoadResult]] = {}
    cpu: dict[str, list[CellCpu]] = {}
    slow_cells: list[SlowCell] = []
    with ExitStack() as stack:
        system = _system(stack, args)
        if peers:  # every peer instant to begin with (and a sandbox that can slow them)
            clear_latencies(system.target.sandbox)
        cells = Cells(system.target, args.seconds, args.rides, _cpu_meter(system))
        for name in names:
            for concurrency in levels:
                result, cell_cpu = cells.measure_with_cpu(name, concurrency)
                results.setdefault(name, []).append(result)
                if cell_cpu is not None:
                    cpu.setdefault(name, []).append(cell_cpu)
        for peer in peers:
            slow_cells += [cells.slow_cell(peer, concurrency) for concurrency in slow_levels]

    print(
        f"\nmachine: {machine()}; {args.seconds} s per cell; started {started_at:%Y-%m-%d %H:%M}Z;"
        f" system: {system.how}" + (f", broker {system.broker}" if system.broker else "")
    )
    print_tables(results)
    ratios_c32 = ratios(results, 32)
    if ratios_c32:
        print("\nratios at concurrency 32: " + ", ".join(f"{k} {v}" for k, v in ratios_c32.items()))
    print_cpu_tables(cpu)
    if slow_cells:
        print_slow_cells(slow_cells)
    stem = RESULTS_DIR / f"bench-{started_at:%Y%m%dT%H%M%SZ}"
    data = {
        "started_at": started_at.isoformat(),
        "machine": machine(),
        "seconds": args.seconds,
        "system": system.how,
        "broker": system.broker,
        "results": {name: [asdict(r) for r in rows] for name, rows in results.items()},
        "ratios_c32": ratios_c32,
        "slow_peers": [cell.as_json() for cell in slow_cells],
        "cpu_ms_per_request": {name: [c.as_json() for c in rows] for name, rows in cpu.items()},
    }
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(data, indent=2))
    if results:
        draw_chart(results, stem.with_suffix(".png"))
        print(f"chart:   {stem.with_suffix('.png').relative_to(RESULTS_DIR.parent.parent)}")
    print(f"\nfigures: {json_path.relative_to(RESULTS_DIR.parent.parent)}")
    previous = previous_run(RESULTS_DIR, json_path)
    if previous is not None:
        print_comparison(previous, results)


if __name__ == "__main__":
    main()
