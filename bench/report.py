"""What `make bench` prints and draws: a table per scenario, the slow-peer shares, a chart,
and the comparison with the previous run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.cpu import CellCpu, cpu_table
from bench.probe import HEADER
from bench.ride_starts import RIDE_START
from bench.slow_peers import SlowCell
from bench.wrk import LoadResult

SLOW_HEADER = (
    "  conc  instant rps  slow rps  share   instant p99  slow p99  p99 share  p99 +ms  errors"
)


def print_tables(results: dict[str, list[LoadResult]]) -> None:
    for name, rows in results.items():
        print(f"\n{name}")
        print(HEADER)
        for r in rows:
            print(
                f"{r.concurrency:>6} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
                f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.errors:>7}"
            )


def print_cpu_tables(cpu: dict[str, list[CellCpu]]) -> None:
    for name, cells in cpu.items():
        print(f"\n{name}: CPU ms per request, per process ('-': not found, or restarted)")
        for line in cpu_table(cells):
            print(line)


def print_slow_cells(cells: list[SlowCell]) -> None:
    """Each slow cell beside the instant cell of its scenario and concurrency."""
    labels = list(dict.fromkeys(cell.peer.label for cell in cells))
    for label in labels:
        print(f"\n{label} vs every peer instant (same run)")
        if label.startswith(RIDE_START):
            print("  (rps: meter starts/s with conc starts in flight; p99: event to started ride)")
        print(SLOW_HEADER)
        for cell in (c for c in cells if c.peer.label == label):
            i, s = cell.instant, cell.slow
            print(
                f"{s.concurrency:>6} {i.rps:>12.0f} {s.rps:>9.0f} {cell.throughput_share:>6.2f} "
                f"{i.p99_ms:>13.1f} {s.p99_ms:>9.1f} {cell.p99_share:>10.2f} "
                f"{cell.p99_added_ms:>8.0f} {f'{i.errors}/{s.errors}':>7}"
            )


def ratios(results: dict[str, list[LoadResult]], concurrency: int) -> dict[str, float]:
    def rps(name: str) -> float | None:
        for row in results.get(name, []):
            if row.concurrency == concurrency:
                return row.rps
        return None

    authorize, probe, ping = rps("authorize"), rps("probe"), rps("ping")
    found: dict[str, float] = {}
    if authorize and probe:
        found["authorize/probe"] = round(authorize / probe, 3)
    if authorize and ping:
        found["authorize/ping"] = round(authorize / ping, 3)
    return found


def draw_chart(results: dict[str, list[LoadResult]], path: Path) -> None:
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


def previous_run(results_dir: Path, exclude: Path) -> dict[str, Any] | None:
    runs = sorted(p for p in results_dir.glob("bench-*.json") if p != exclude)
    return json.loads(runs[-1].read_text()) if runs else None


def print_comparison(previous: dict[str, Any], results: dict[str, list[LoadResult]]) -> None:
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
